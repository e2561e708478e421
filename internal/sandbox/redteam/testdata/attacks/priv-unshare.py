# attack: Python unshare(CLONE_NEWUSER|CLONE_NEWNS) to become root of a new user namespace, maps uid 0, remounts the outside folder read-write and writes the victim
# category: privilege
# effect: victim unchanged; no file created as root in the workspace
# via: seccomp denies unshare and clone with namespace flags
# control: yes
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
uid = os.getuid()
r = libc.unshare(0x10000000 | 0x00020000)  # CLONE_NEWUSER | CLONE_NEWNS
print("unshare", r, ctypes.get_errno())
if r == 0:
    try:
        open("/proc/self/setgroups", "w").write("deny")
        open("/proc/self/uid_map", "w").write("0 %d 1" % uid)
    except Exception as e:
        print(e)
    print("remount", libc.mount(None, os.environ["RT_OUTSIDE"].encode(), None, 32 | 4096, None))
    open("PWNED-unshare", "w").write("uid %d" % os.getuid())
try:
    open(os.environ["RT_VICTIM"], "w").write("pwned")
except Exception as e:
    print("refused", e)
