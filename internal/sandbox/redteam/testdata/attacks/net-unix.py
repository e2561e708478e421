# attack: Python connects to the host's Unix socket by path (the socket file sits in the workspace) as stream, datagram and seqpacket, and to its abstract socket
# category: network
# effect: the test's Unix listeners (path and abstract) record no connection
# via: seccomp refuses AF_UNIX sockets; Landlock scopes abstract sockets; own network namespace
# control: yes
import os, socket
path, abstract = os.environ["RT_UNIX"], "\0" + os.environ["RT_ABSTRACT"]
for addr in (path, abstract):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET):
        try:
            s = socket.socket(socket.AF_UNIX, kind)
            s.connect(addr)
            s.send(b"escaped-unix")
            print("connected", repr(addr), kind)
        except Exception as e:
            print("refused", repr(addr), kind, e)
