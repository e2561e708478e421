# attack: the unshare and nsenter commands: unshare -r -m to map root and remount, nsenter into pid 1's namespaces, then write the victim
# category: privilege
# effect: victim and outside/ tree unchanged
# via: seccomp denies unshare, setns and clone with namespace flags
# control: yes
unshare -r -m sh -c 'mount -o remount,rw "$RT_OUTSIDE"; echo pwned > "$RT_VICTIM"; touch "$RT_WS/PWNED-unshare-cli"'
unshare --user --map-root-user --mount --pid --fork sh -c 'touch "$RT_WS/PWNED-unshare-cli2"'
nsenter -t 1 -a sh -c 'echo pwned > "$RT_VICTIM"'
nsenter --mount=/proc/1/ns/mnt sh -c 'touch "$RT_WS/PWNED-nsenter"'
echo pwned > "$RT_VICTIM"
exit 0
