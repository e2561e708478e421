# attack: openat, unlinkat, renameat and linkat relative to directory descriptors of the outside folder, and O_TMPFILE + link into it
# category: files
# effect: victim and outside/ tree unchanged; nothing created in outside/
# via: read-only mount view (checked on every path walk, descriptors included)
# control: yes
import os
O = os.environ["RT_OUTSIDE"]
M = os.environ["RT_MARKER"]
def attempt(f):
    try:
        f()
        print("ok")
    except Exception as e:
        print("refused", e)
for flags in (os.O_RDONLY | os.O_DIRECTORY, os.O_PATH | os.O_DIRECTORY):
    d = os.open(O, flags)
    attempt(lambda: os.write(os.open("victim.txt", os.O_WRONLY | os.O_TRUNC, dir_fd=d), b"pwned"))
    attempt(lambda: os.unlink("victim.txt", dir_fd=d))
    attempt(lambda: os.rename("victim.txt", "moved", src_dir_fd=d, dst_dir_fd=d))
    attempt(lambda: os.mkdir(M + "-dir", dir_fd=d))
    attempt(lambda: os.open(M + "-new", os.O_WRONLY | os.O_CREAT, dir_fd=d))
    attempt(lambda: os.symlink("/etc/passwd", M + "-sym", dir_fd=d))
attempt(lambda: os.open(O, os.O_TMPFILE | os.O_WRONLY))
t = os.open(".", os.O_TMPFILE | os.O_WRONLY)
os.write(t, b"pwned")
attempt(lambda: os.link("/proc/self/fd/%d" % t, O + "/" + M + "-tmp"))
attempt(lambda: os.rename("/proc/self/fd/%d" % t, O + "/victim.txt"))
