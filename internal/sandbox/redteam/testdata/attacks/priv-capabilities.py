# attack: Python tries to regain capabilities: capset with every bit, PR_CAP_AMBIENT_RAISE, PR_SET_KEEPCAPS, setresuid(0,0,0) and setgroups([0]), then writes the victim and a file in the workspace
# category: privilege
# effect: no file created as root in the workspace; victim unchanged
# via: empty bounding set, locked securebits, uid 65534
# control: yes
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
class Hdr(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]
h = Hdr(0x20080522, 0)
d = (Data * 2)(Data(0xffffffff, 0xffffffff, 0xffffffff), Data(0xffffffff, 0xffffffff, 0xffffffff))
print("capset", libc.capset(ctypes.byref(h), d))
for cap in range(41):
    libc.prctl(47, 2, cap, 0, 0)  # PR_CAP_AMBIENT_RAISE
print("keepcaps", libc.prctl(8, 1, 0, 0, 0))
for f in (lambda: os.setresuid(0, 0, 0), lambda: os.setresgid(0, 0, 0), lambda: os.setgroups([0]), lambda: os.setuid(0)):
    try:
        f()
        print("ok")
    except Exception as e:
        print("refused", e)
print(open("/proc/self/status").read())
os.chdir(os.environ["RT_WS"])
open("caps-file", "w").write("uid %d" % os.geteuid())
try:
    open(os.environ["RT_VICTIM"], "w").write("pwned")
except Exception as e:
    print("refused", e)
