# attack: the classic double fork in bash (a subshell that backgrounds a grandchild and exits, so it is reparented), plus disown
# category: outlive
# effect: after Run returns no process with the attack's marker exists on the host, and the survivor's file never appears
# via: pid namespace: orphans are reparented to the target, which is the namespace's init
# control: yes
cd "$RT_WS" || exit 1
( ( exec -a "$RT_MARKER-grandchild" bash -c 'sleep 2; echo alive > "$RT_WS/LATE-double-fork"' ) & )
bash -c 'sleep 2; echo alive > "$RT_WS/LATE-disown"' "$RT_MARKER" &
disown
sleep 0.3
exit 0
