# attack: create files named after the marker in /, /etc, /usr, /usr/local, /tmp, /var/tmp, /dev/shm, /root, /home and the hidden folder
# category: files
# effect: no file with the attack's marker appears in any of those host folders
# via: read-only mount view; fresh /tmp and /dev/shm; empty /root, /home
# control: yes
for d in / /etc /usr /usr/local /usr/bin /tmp /var/tmp /dev/shm /root /home "$RT_HIDDEN" "$RT_OUTSIDE" "$RT_WS/.."; do
	echo pwned > "$d/$RT_MARKER-canary" 2>/dev/null
	mkdir -p "$d/$RT_MARKER-dir" 2>/dev/null
done
mkdir -p "$RT_HIDDEN" && echo pwned > "$RT_HIDDEN/$RT_MARKER-x"
exit 0
