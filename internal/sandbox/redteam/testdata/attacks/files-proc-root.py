# attack: reach the victim through /proc/self/root, /proc/1/root, /proc/thread-self/root and /proc/self/cwd paths
# category: files
# effect: victim and outside/ tree unchanged
# via: /proc is the sandbox's own (its root is the sandbox view); read-only mount view
# control: yes
import os, glob
V, O = os.environ["RT_VICTIM"], os.environ["RT_OUTSIDE"]
paths = []
for pid in ["self", "1", "thread-self"] + [p for p in os.listdir("/proc") if p.isdigit()]:
    paths += ["/proc/%s/root%s" % (pid, V), "/proc/%s/cwd/../outside/victim.txt" % pid]
for p in paths:
    for fn in (lambda: open(p, "w").write("pwned"), lambda: os.unlink(p), lambda: os.truncate(p, 0)):
        try:
            fn()
            print("ok", p)
        except Exception as e:
            pass
try:
    open("/proc/1/root/%s-root" % os.environ["RT_MARKER"], "w").write("pwned")
except Exception as e:
    print("refused", e)
