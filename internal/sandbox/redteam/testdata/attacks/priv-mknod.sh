# attack: create device nodes in the workspace (the host's disk, /dev/mem, a tty) and read or write through them
# category: privilege
# effect: no device node appears in the workspace; victim unchanged
# via: no CAP_MKNOD; Landlock denies making devices; nodev mounts
cd "$RT_WS" || exit 1
mknod disk b 8 0
mknod vda b 253 0
mknod mem c 1 1
mknod tty c 4 1
head -c 512 disk > disk-loot 2>/dev/null
echo pwned > tty
mkfifo fifo
exit 0
