# attack: through the granted proxy, CONNECT to the host's 127.0.0.1 listener and to it under other spellings (::1, localhost, 0.0.0.0, decimal and hex IPv4, IPv4-mapped IPv6)
# category: proxy
# effect: the TCP listeners on the host's 127.0.0.1 and ::1 saw no connection; the audit entry records refused proxy attempts
# via: the proxy's allow-list (only 127.0.0.2 and rebind.test granted) and its refusal of non-public addresses not listed
import os, socket
tcp, tcp6 = os.environ["RT_TCP"], os.environ["RT_TCP6"]
def proxy(head):
    s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
    s.sendall(head.encode())
    answer = s.recv(4096).decode("latin-1")
    if " 200 " in answer.split("\r\n")[0]:
        s.sendall(b"escaped-through-proxy\n")
    s.close()
    return answer.split("\r\n")[0]
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
s.sendall(("GET http://%s/ HTTP/1.0\r\n\r\n" % os.environ["RT_ALLOWED"]).encode())
reply = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    reply += b
if b"allowed target" in reply:
    print("control: ok")
for target in ["127.0.0.1:" + tcp, "localhost:" + tcp, "0.0.0.0:" + tcp, "2130706433:" + tcp, "0x7f000001:" + tcp,
               "[::ffff:127.0.0.1]:" + tcp, "[::1]:" + (tcp6 or tcp), "127.1:" + tcp, "127.0.0.2:" + tcp]:
    try:
        print(target, proxy("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)))
    except Exception as e:
        print(target, "error", e)
