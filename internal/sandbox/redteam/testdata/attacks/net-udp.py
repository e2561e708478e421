# attack: Python sends UDP datagrams to the host's listener on 127.0.0.1, connected and unconnected, and with sendmsg
# category: network
# effect: the test's UDP socket receives no packet
# via: seccomp refuses UDP sockets; empty network namespace
# control: yes
import os, socket
port = int(os.environ["RT_UDP"])
for fn in (lambda s: s.sendto(b"escaped-udp", ("127.0.0.1", port)),
           lambda s: (s.connect(("127.0.0.1", port)), s.send(b"escaped-udp")),
           lambda s: s.sendmsg([b"escaped-udp"], [], 0, ("127.0.0.1", port))):
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        fn(s)
        print("sent")
    except Exception as e:
        print("refused", e)
