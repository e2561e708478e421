# attack: symlinks and hard links in the workspace pointing at the victim, then writes through them, plus a rename race swapping a link in
# category: files
# effect: victim unchanged; no link in the workspace gives write access to it
# via: read-only mount view (a link is resolved inside the sandbox's view)
# control: yes
use strict; use warnings;
my ($v, $o) = @ENV{qw(RT_VICTIM RT_OUTSIDE)};
chdir $ENV{RT_WS};
symlink $v, "sym";
if (open(my $f, '>', "sym")) { print $f "pwned via symlink"; close $f }
symlink $o, "symdir";
unlink "symdir/victim.txt";
if (open(my $f, '>', "symdir/victim.txt")) { print $f "pwned"; close $f }
link $v, "hard" and do { open(my $f, '>', "hard"); print $f "pwned via hard link"; close $f };
symlink "/proc/1/root$v", "procsym";
if (open(my $f, '>>', "procsym")) { print $f "pwned"; close $f }
for my $i (1 .. 200) {
	open(my $f, '>', "swap.tmp"); close $f;
	rename "sym", "swap.old"; symlink $v, "swap.new"; rename "swap.new", "swap.tmp";
	if (open(my $g, '>>', "swap.tmp")) { print $g "x"; close $g }
}
print "done\n";
