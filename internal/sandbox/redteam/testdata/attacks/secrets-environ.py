# attack: read the parent's environment: os.environ, /proc/<pid>/environ of every visible process, /proc/1/environ, /proc/self/environ, and the parent's pid from the host
# category: secrets
# effect: the secret in the test process's environment appears nowhere in the workspace or the output
# via: empty environment passed to the child; own pid namespace (the host's processes are not in /proc)
import os
out = open(os.path.join(os.environ["RT_WS"], "environ.txt"), "wb")
out.write(repr(dict(os.environ)).encode() + b"\n")
pids = [p for p in os.listdir("/proc") if p.isdigit()] + ["self", "1", os.environ.get("RT_PARENT_PID", "1")]
for p in pids:
    for f in ("environ", "cmdline"):
        try:
            out.write(open("/proc/%s/%s" % (p, f), "rb").read() + b"\n")
        except Exception as e:
            out.write(repr(e).encode() + b"\n")
print(os.environ.get(os.environ["RT_SECRET_ENV"], "no secret in environ"))
