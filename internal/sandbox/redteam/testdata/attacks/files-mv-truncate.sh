# attack: mv, truncate, redirect, cp over, chmod and touch the victim
# category: files
# effect: victim content, mode and mtime unchanged; nothing created beside it
# via: read-only mount view
# control: yes
V="$RT_VICTIM"
echo pwned > "$V"
echo pwned >> "$V"
: > "$V"
truncate -s 0 "$V"
cp /etc/hostname "$V"
mv "$V" "$RT_OUTSIDE/moved"
mv "$RT_OUTSIDE/tree" "$RT_WS/stolen-tree"
chmod 777 "$V"
touch -d '2001-01-01' "$V"
dd if=/dev/zero of="$V" bs=1 count=1 conv=notrunc
touch "$RT_OUTSIDE/$RT_MARKER-new"
mkdir "$RT_OUTSIDE/$RT_MARKER-dir"
exit 0
