# attack: change the workspace's .git: append to config, add a hook, delete HEAD, rename and remove .git, replace it with a symlink
# category: protected
# effect: every file under ws/.git unchanged (hash, mode, mtime), nothing added
# via: read-only bind mount over .git
# control: yes
cd "$RT_WS" || exit 1
printf '[core]\n\tfsmonitor = touch /tmp/pwned\n' >> .git/config
printf '#!/bin/sh\ntouch /tmp/pwned\n' > .git/hooks/post-commit; chmod +x .git/hooks/post-commit
rm -f .git/HEAD
echo 0000000000000000000000000000000000000000 > .git/refs/heads/main
mv .git .git-old
rm -rf .git
umount .git 2>/dev/null
ln -sfn /tmp .git
exit 0
