# attack: the mount command: remount the outside folder read-write, bind the workspace over it, mount a tmpfs on it, then write the victim
# category: privilege
# effect: victim and outside/ tree unchanged
# via: no capabilities; seccomp denies mount, umount and the new mount API
# control: yes
mount -o remount,rw "$RT_OUTSIDE"
mount -o remount,rw,bind "$RT_OUTSIDE"
mount --bind "$RT_WS" "$RT_OUTSIDE"
mount -t tmpfs none "$RT_OUTSIDE"
umount -l "$RT_OUTSIDE"
echo pwned > "$RT_VICTIM"
rm -rf "$RT_OUTSIDE/tree"
exit 0
