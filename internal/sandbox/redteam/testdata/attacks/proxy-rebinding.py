# attack: reach the host's 127.0.0.1 listener through the proxy by a granted name that resolves to 127.0.0.1 (DNS rebinding), in several spellings, and the cloud metadata address
# category: proxy
# effect: the TCP listener on the host's 127.0.0.1 saw no connection; the audit entry records refused proxy attempts
# via: the proxy resolves names itself and refuses addresses that are not public unless the allow-list names them
import os, socket, urllib.request
tcp, allowed = os.environ["RT_TCP"], os.environ["RT_ALLOWED"]
with urllib.request.urlopen("http://%s/" % allowed, timeout=10) as r:
    if b"allowed target" in r.read():
        print("control: ok")
for url in ["http://rebind.test:%s/" % tcp, "http://REBIND.test.:%s/" % tcp, "http://169.254.169.254/latest/meta-data/"]:
    try:
        print(url, urllib.request.urlopen(url, timeout=10).status)
    except Exception as e:
        print(url, "failed", e)
for target in ["rebind.test:" + tcp, "rebind.test.:" + tcp]:
    s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
    s.sendall(("CONNECT %s HTTP/1.1\r\n\r\n" % target).encode())
    answer = s.recv(4096)
    if b" 200 " in answer.split(b"\r\n")[0]:
        s.sendall(b"escaped-rebinding\n")
    print(target, answer.split(b"\r\n")[0])
