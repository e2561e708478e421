# attack: steal a sibling's file descriptor with pidfd_open + pidfd_getfd and compare processes with kcmp; a stolen descriptor is saved as a proof file
# category: ptrace
# effect: no proof file
# via: seccomp denies pidfd_getfd and kcmp
# control: yes
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    fd = os.open("/etc/hostname", os.O_RDONLY)
    os.write(w, str(fd).encode())
    time.sleep(2)
    os._exit(0)
fd = int(os.read(r, 16))
pidfd = libc.syscall(434, pid, 0)  # pidfd_open
print("pidfd_open", pidfd)
stolen = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
print("pidfd_getfd", stolen, ctypes.get_errno())
if stolen >= 0:
    open("PWNED-pidfd-getfd", "w").write("stole fd %d" % stolen)
k = libc.syscall(312, os.getpid(), pid, 0, 0, 0)  # kcmp KCMP_FILE
print("kcmp", k, ctypes.get_errno())
if k >= 0:
    open("PWNED-kcmp", "w").write(str(k))
os.kill(pid, 9)
