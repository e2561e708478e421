# attack: Python connects over TCP to the host's listeners on 127.0.0.1 and ::1 (also via 0.0.0.0 and localhost), after trying to bring the loopback device up
# category: network
# effect: the test's TCP listeners record no connection
# via: empty network namespace; Landlock denies TCP connect
# control: yes
import os, socket, subprocess
port = int(os.environ["RT_TCP"])
port6 = int(os.environ["RT_TCP6"] or 0)
subprocess.run(["ip", "link", "set", "lo", "up"], stderr=subprocess.DEVNULL)
for addr, p in (("127.0.0.1", port), ("0.0.0.0", port), ("localhost", port), ("::1", port6)):
    try:
        s = socket.create_connection((addr, p), timeout=2)
        s.sendall(b"escaped-tcp\n")
        s.close()
        print("connected", addr)
    except Exception as e:
        print("refused", addr, e)
