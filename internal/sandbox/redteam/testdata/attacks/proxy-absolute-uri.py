# attack: send the granted proxy absolute-URI and origin-form requests for the host's 127.0.0.1 listener, with Host headers naming the allowed host and the other way round, user information, https in absolute form
# category: proxy
# effect: the TCP listener on the host's 127.0.0.1 saw no request; the audit entry records refused proxy attempts
# via: the proxy forwards only absolute http:// URLs whose host and port are allowed, and sends the URL's host as Host
import os, socket
tcp, allowed = os.environ["RT_TCP"], os.environ["RT_ALLOWED"]
def proxy(raw):
    s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
    s.sendall(raw.encode())
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    return data.decode("latin-1")
if "allowed target" in proxy("GET http://%s/ HTTP/1.0\r\n\r\n" % allowed):
    print("control: ok")
victim = "127.0.0.1:" + tcp
for raw in [
    "GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n" % (victim, victim),
    "GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n" % (victim, allowed),
    "GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n" % (allowed, victim),
    "GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % victim,
    "GET http://user@%s/ HTTP/1.1\r\nHost: %s\r\n\r\n" % (victim, victim),
    "GET https://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n" % (victim, victim),
    "GET http://%s@%s/ HTTP/1.1\r\n\r\n" % (allowed, victim),
    "POST http://%s/ HTTP/1.1\r\nHost: %s\r\nContent-Length: 7\r\n\r\nescaped" % (victim, victim),
]:
    try:
        print(repr(raw[:60]), "->", proxy(raw).split("\r\n")[0])
    except Exception as e:
        print("error", e)
