# attack: get .git writable by unmounting or over-mounting it, or by remounting it read-write, then write a hook
# category: protected
# effect: every file under ws/.git unchanged, nothing added
# via: no capabilities; seccomp denies mount and umount
# control: yes
cd "$RT_WS" || exit 1
umount -l .git
mount -o remount,rw .git
mkdir -p fake/hooks && echo pwned > fake/hooks/post-commit
mount --bind fake .git
mount --move fake .git
echo '#!/bin/sh' > .git/hooks/post-checkout
exit 0
