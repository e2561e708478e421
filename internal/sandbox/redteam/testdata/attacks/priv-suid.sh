# attack: run the setuid-root copies planted in the workspace and the outside folder, and the system's setuid binaries (su, mount, passwd, newgrp)
# category: privilege
# effect: no file created as root in the workspace; victim unchanged; nothing created in /etc
# via: nosuid mounts; no_new_privs; no capabilities (bounding set empty, securebits locked)
# control: yes
cd "$RT_WS" || exit 1
"$RT_SUID"
"$RT_SUID_OUT"
cp "$RT_SUID" ./suid-copy && chmod 4755 ./suid-copy && ./suid-copy
for b in /usr/bin/su /bin/su /usr/bin/mount /usr/bin/passwd /usr/bin/newgrp /usr/bin/chsh; do
	[ -x "$b" ] && "$b" < /dev/null > /dev/null 2>&1
done
su -c "touch /etc/$RT_MARKER-su" root < /dev/null
exit 0
