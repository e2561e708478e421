# attack: Perl forks, calls POSIX::setsid, ignores HUP/TERM/INT and sleeps before writing into the workspace
# category: outlive
# effect: after Run returns no process with the attack's marker exists on the host, and the survivor's file never appears
# via: pid namespace
# control: yes
use strict; use warnings; use POSIX ();
my $ws = $ENV{RT_WS};
my $pid = fork();
if (defined $pid && $pid == 0) {
	POSIX::setsid();
	$SIG{$_} = 'IGNORE' for qw(HUP TERM INT);
	sleep 2;
	if (open(my $f, '>', "$ws/LATE-perl")) { print $f "alive"; close $f }
	POSIX::_exit(0);
}
select(undef, undef, undef, 0.3);
exit 0;
