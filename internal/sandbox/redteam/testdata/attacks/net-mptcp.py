# attack: Python opens an MPTCP socket (IPPROTO_MPTCP) and an SCTP one and connects to the host's TCP listener on 127.0.0.1
# category: network
# effect: the test's TCP listener records no connection
# via: seccomp allows only plain TCP sockets; empty network namespace; Landlock
# control: yes
import os, socket
port = int(os.environ["RT_TCP"])
for proto in (262, 132):  # IPPROTO_MPTCP, IPPROTO_SCTP
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        s.sendall(b"escaped-mptcp\n")
        print("connected", proto)
    except Exception as e:
        print("refused", proto, e)
