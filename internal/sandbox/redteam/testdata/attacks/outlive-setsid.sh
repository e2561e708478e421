# attack: start a survivor in a new session with setsid, detached from every descriptor, then exit at once
# category: outlive
# effect: after Run returns no process with the attack's marker exists on the host, and the survivor's file (due 2 s later) never appears
# via: pid namespace: the target is its init, the kernel kills the rest when it exits
# control: yes
cd "$RT_WS" || exit 1
setsid sh -c 'sleep 2; echo alive > "$RT_WS/LATE-setsid"' "$RT_MARKER" < /dev/null > /dev/null 2>&1 &
sleep 0.3
exit 0
