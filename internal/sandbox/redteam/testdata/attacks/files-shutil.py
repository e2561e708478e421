# attack: shutil.rmtree, os.remove, os.rename, os.truncate, open("w"), os.utime, os.chmod and os.chown on the victim and outside tree
# category: files
# effect: outside/ and hidden/ trees unchanged (content, mode, owner, mtime, existence)
# via: read-only mount view; hidden folder not mounted
# control: yes
import os, shutil
V, O, H = os.environ["RT_VICTIM"], os.environ["RT_OUTSIDE"], os.environ["RT_HIDDEN"]
def attempt(f, *a):
    try:
        f(*a)
        print("ok", f.__name__ if hasattr(f, "__name__") else f, a)
    except Exception as e:
        print("refused", e)
attempt(shutil.rmtree, O + "/tree")
attempt(shutil.rmtree, O)
attempt(shutil.rmtree, H)
attempt(os.remove, V)
attempt(os.rename, V, O + "/moved")
attempt(os.replace, O + "/tree/leaf.txt", V)
attempt(os.truncate, V, 0)
attempt(lambda: open(V, "w").write("pwned"))
attempt(lambda: open(V, "a").write("pwned"))
attempt(lambda: open(V, "r+").write("pwned"))
attempt(os.utime, V, (0, 0))
attempt(os.chmod, V, 0o777)
attempt(os.chown, V, 0, 0)
attempt(os.rmdir, O + "/empty-dir")
attempt(shutil.move, O + "/tree", "stolen")
