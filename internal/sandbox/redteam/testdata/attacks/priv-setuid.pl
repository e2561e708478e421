# attack: Perl sets $< and $> to 0, calls POSIX::setuid(0) and setgid(0), then creates a file and execs the setuid-root helper
# category: privilege
# effect: no file created as root in the workspace; victim unchanged
# via: uid 65534 without capabilities; nosuid; no_new_privs
# control: yes
use strict; use warnings; use POSIX ();
chdir $ENV{RT_WS};
$< = 0; $> = 0; $( = 0; $) = "0 0";
POSIX::setuid(0); POSIX::setgid(0);
print "uid $< euid $>\n";
if (open(my $f, '>', "perl-setuid-file")) { close $f }
if (open(my $v, '>', $ENV{RT_VICTIM})) { print $v "pwned"; close $v }
exec $ENV{RT_SUID};
