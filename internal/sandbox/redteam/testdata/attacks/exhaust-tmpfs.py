# attack: Python fills the sandbox's /tmp (a tmpfs, so memory) with 4 MiB writes until it fails
# category: exhaustion
# effect: Run returns with the process killed by the memory limit (tmpfs pages are charged to the sandbox's cgroup)
# via: cgroup memory limit (tmpfs charged to it)
# stop: memory
# limits: memory=64MiB wall=20s
import signal
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
block = b"x" * (4 << 20)
i = 0
while True:
    with open("/tmp/fill-%d" % i, "wb") as f:
        for _ in range(2):
            f.write(block)
    i += 1
