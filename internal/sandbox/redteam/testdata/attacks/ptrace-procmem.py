# attack: Python forks a sibling holding a value in memory and overwrites it through /proc/<pid>/mem (a ptrace-equivalent path that needs no ptrace call); the sibling saves a proof file if its memory changed
# category: ptrace
# effect: no proof file (the sibling's memory is unchanged)
# via: the kernel's ptrace access check on /proc/<pid>/mem (which layer refuses it was not isolated)
# control: yes
import ctypes, os, time
cell = ctypes.c_long(1111)
addr = ctypes.addressof(cell)
pid = os.fork()
if pid == 0:
    for _ in range(30):
        time.sleep(0.05)
        if cell.value != 1111:
            open("PWNED-procmem", "w").write("memory changed to %d" % cell.value)
            break
    os._exit(0)
time.sleep(0.1)
try:
    fd = os.open("/proc/%d/mem" % pid, os.O_RDWR)
    os.pwrite(fd, (4242).to_bytes(8, "little"), addr)
    print("wrote")
except Exception as e:
    print("refused", e)
os.waitpid(pid, 0)
