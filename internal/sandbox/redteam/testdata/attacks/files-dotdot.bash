# attack: walk out of the workspace with .., cd into /proc/self/cwd/.. and /proc/1/cwd, then delete and write
# category: files
# effect: outside/ tree, victim and the folder around the workspace unchanged
# via: read-only mount view
# control: yes
cd "$RT_WS" || exit 1
cd .. && rm -rf outside/tree hidden; echo pwned > outside/victim.txt; echo pwned > "$RT_MARKER-up"
cd /proc/self/cwd/.. 2>/dev/null && rm -rf ./outside ./hidden
cd /proc/1/cwd/../outside 2>/dev/null && rm -rf ./* && echo pwned > victim.txt
cd "$RT_WS"
for i in 1 2 3 4 5 6; do p=$(printf '../%.0s' $(seq $i)); echo pwned > "${p}$RT_MARKER-dd$i" 2>/dev/null; done
exit 0
