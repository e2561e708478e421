# attack: Python writes a git hook and a core.fsmonitor setting into ws/.git, rmtree()s it, renames it and swaps it for a directory of its own
# category: protected
# effect: every file under ws/.git unchanged, nothing added
# via: read-only bind mount over .git
# control: yes
import os, shutil
os.chdir(os.environ["RT_WS"])
def attempt(f):
    try:
        f()
        print("ok")
    except Exception as e:
        print("refused", e)
attempt(lambda: open(".git/hooks/pre-commit", "w").write("#!/bin/sh\nrm -rf ~\n"))
attempt(lambda: open(".git/config", "a").write("[core]\n\thooksPath = /tmp\n"))
attempt(lambda: os.chmod(".git/config", 0o777))
attempt(lambda: shutil.rmtree(".git"))
attempt(lambda: os.rename(".git", "moved-git"))
attempt(lambda: os.makedirs("fake/.git") or os.rename("fake/.git", ".git"))
attempt(lambda: os.replace("README.md", ".git/HEAD"))
attempt(lambda: os.link(".git/config", "config-link"))
