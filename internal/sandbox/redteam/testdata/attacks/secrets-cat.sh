# attack: cat /etc/shadow, /etc/gshadow, the host home's secret, the hidden secret, /root, /home and every environ in /proc into the workspace
# category: secrets
# effect: no planted secret, /etc/shadow line or parent-environment value appears in the workspace or the output
# via: /etc/shadow masked; /root, /home empty; hidden folder not mounted; empty environment; own pid namespace
# control: yes
cd "$RT_WS" || exit 1
{
	cat /etc/shadow /etc/gshadow /etc/shadow- /etc/gshadow-
	cat "$RT_HOST_SECRET" "$RT_HIDDEN_SECRET" /root/.* /root/* /home/*/* /home/*/.*
	cat /proc/*/environ /proc/1/environ /proc/self/environ
	env; set
	printenv "$RT_SECRET_ENV"
} > loot.txt 2>&1
cp /etc/shadow shadow.copy
exit 0
