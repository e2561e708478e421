# attack: nohup a survivor that ignores SIGHUP and SIGTERM, then exit at once
# category: outlive
# effect: after Run returns no process with the attack's marker exists on the host, and the survivor's file never appears
# via: pid namespace (SIGKILL from the kernel cannot be ignored)
# control: yes
cd "$RT_WS" || exit 1
nohup sh -c 'trap "" HUP TERM INT; sleep 2; echo alive > "$RT_WS/LATE-nohup"' "$RT_MARKER" > /dev/null 2>&1 &
sleep 0.3
exit 0
