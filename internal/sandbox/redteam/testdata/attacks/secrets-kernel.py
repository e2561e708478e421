# attack: read kernel and device views that would leak host data: /proc/kcore, /dev/mem, /dev/sda, /sys, /proc/1/mem, /run/secrets, the Docker socket, /proc/self/mountinfo paths to the host
# category: secrets
# effect: no planted secret or /etc/shadow line appears in the workspace or the output
# via: minimal /dev (null, zero, full, random, urandom); no /sys; /run empty; /proc of the sandbox's pid namespace
import os
out = open(os.path.join(os.environ["RT_WS"], "kernel-loot.txt"), "wb")
for p in ["/proc/kcore", "/dev/mem", "/dev/kmem", "/dev/sda", "/dev/vda", "/dev/nvme0n1", "/sys/kernel/security", "/run/secrets",
          "/var/run/docker.sock", "/proc/1/mem", "/proc/self/mountinfo", "/proc/keys", "/proc/sysrq-trigger"]:
    try:
        with open(p, "rb") as f:
            out.write(b"== " + p.encode() + b"\n" + f.read(1 << 16) + b"\n")
    except Exception as e:
        out.write(("%s: %r\n" % (p, e)).encode())
for d in ("/dev", "/sys", "/run", "/var", "/root", "/home"):
    try:
        out.write(("%s: %r\n" % (d, os.listdir(d))).encode())
    except Exception as e:
        out.write(("%s: %r\n" % (d, e)).encode())
