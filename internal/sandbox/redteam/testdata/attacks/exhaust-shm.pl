# attack: Perl fills /dev/shm (a tmpfs) with 4 MiB files until a write fails
# category: exhaustion
# effect: Run returns with the process killed by the memory limit
# via: cgroup memory limit (tmpfs charged to it)
# stop: memory
# limits: memory=64MiB wall=20s
use strict; use warnings;
my $block = "x" x (4 << 20);
for (my $i = 0; ; $i++) {
	open(my $f, '>', "/dev/shm/fill-$i") or last;
	print $f $block or last;
	close $f or last;
}
print "filled\n";
sleep 30;
