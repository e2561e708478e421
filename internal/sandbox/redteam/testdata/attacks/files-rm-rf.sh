# attack: rm -rf the read-only outside tree, the victim, the hidden folder, also through /proc/self/root and /proc/1/root
# category: files
# effect: outside/ and hidden/ trees unchanged (content, mode, owner, mtime, existence)
# via: read-only mount view; hidden folder not mounted
# control: yes
rm -rf "$RT_OUTSIDE/tree"
rm -f "$RT_VICTIM"
rm -rf "$RT_HIDDEN"
rm -rf "/proc/self/root$RT_OUTSIDE"
rm -rf "/proc/1/root$RT_OUTSIDE/tree"
rm -rf "/proc/self/cwd/../outside"
rm -rf "$RT_WS/../outside" "$RT_WS/../hidden"
find "$RT_OUTSIDE" -delete
exit 0
