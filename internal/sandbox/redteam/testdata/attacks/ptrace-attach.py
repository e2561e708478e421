# attack: Python forks a sibling holding a value in memory, PTRACE_ATTACHes to it and overwrites the value with PTRACE_POKEDATA; the sibling saves a proof file if its memory changed
# category: ptrace
# effect: no proof file (the sibling's memory is unchanged)
# via: seccomp denies ptrace
# control: yes
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
cell = ctypes.c_long(1111)
addr = ctypes.addressof(cell)
pid = os.fork()
if pid == 0:
    for _ in range(30):
        time.sleep(0.05)
        if cell.value != 1111:
            open("PWNED-ptrace-attach", "w").write("memory changed to %d" % cell.value)
            break
    os._exit(0)
r = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
print("attach", r, ctypes.get_errno())
if r == 0:
    os.waitpid(pid, 0)
    libc.ptrace(5, pid, ctypes.c_void_p(addr), ctypes.c_void_p(4242))  # PTRACE_POKEDATA
    libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
r = libc.ptrace(0x4206, pid, None, None)  # PTRACE_SEIZE
print("seize", r)
os.waitpid(pid, 0)
