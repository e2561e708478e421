# attack: Python calls mount(2), umount2(2), fsopen/fsmount/move_mount and open_tree through ctypes to make the outside folder writable, then writes the victim
# category: privilege
# effect: victim and outside/ tree unchanged
# via: no capabilities; seccomp denies mount, umount and the new mount API
# control: yes
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
O, V = os.environ["RT_OUTSIDE"].encode(), os.environ["RT_VICTIM"]
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
print("remount", libc.mount(None, O, None, MS_REMOUNT | MS_BIND, None), ctypes.get_errno())
print("bind", libc.mount(os.environ["RT_WS"].encode(), O, None, MS_BIND | MS_REC, None), ctypes.get_errno())
print("umount", libc.umount2(O, 2), ctypes.get_errno())
print("fsopen", libc.syscall(430, b"tmpfs", 0), ctypes.get_errno())
print("open_tree", libc.syscall(428, -100, O, 1), ctypes.get_errno())
try:
    open(V, "w").write("pwned")
except Exception as e:
    print("refused", e)
