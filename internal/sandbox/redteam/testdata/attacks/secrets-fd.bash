# attack: look for descriptors leaked from the parent (the spec and status pipes, anything else open) and read them, then list and read every visible file descriptor of every process
# category: secrets
# effect: no secret appears in the workspace or the output (no descriptor of seance's reaches the target)
# via: every descriptor above 2 is close-on-exec before the target runs
cd "$RT_WS" || exit 1
{
	ls -l /proc/self/fd /proc/1/fd
	for fd in /proc/self/fd/* /proc/1/fd/*; do timeout 1 cat "$fd"; done
	for fd in 3 4 5 6 7 8 9; do timeout 1 cat <&$fd; done
} > fd-loot.txt 2>&1
exit 0
