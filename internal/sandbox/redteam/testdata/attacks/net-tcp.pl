# attack: Perl connects with IO::Socket::INET and with the raw Socket API to the host's TCP listener, and sends UDP with IO::Socket::INET
# category: network
# effect: the test's TCP and UDP listeners record nothing
# via: empty network namespace; Landlock denies TCP connect; seccomp refuses UDP sockets
# control: yes
use strict; use warnings; use IO::Socket::INET; use Socket;
my ($tcp, $udp) = @ENV{qw(RT_TCP RT_UDP)};
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $tcp, Proto => "tcp", Timeout => 2);
if ($s) { print $s "escaped-perl\n"; print "connected\n" } else { print "refused: $@\n" }
if (socket(my $r, PF_INET, SOCK_STREAM, getprotobyname("tcp") // 6)) {
	if (connect($r, sockaddr_in($tcp, inet_aton("127.0.0.1")))) { send($r, "escaped-raw\n", 0); print "connected raw\n" } else { print "refused raw: $!\n" }
} else { print "socket refused: $!\n" }
my $u = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $udp, Proto => "udp");
if ($u) { $u->send("escaped-udp"); print "sent udp\n" } else { print "udp refused: $@\n" }
