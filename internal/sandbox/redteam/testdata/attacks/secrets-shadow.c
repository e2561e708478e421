// attack: C opens /etc/shadow (also through /proc/self/root and /proc/1/root), the host home secret and the hidden secret, and copies what it can into the workspace
// category: secrets
// effect: no /etc/shadow line or planted secret appears in the workspace or the output
// via: /etc/shadow masked by an unreadable empty file; uid 65534; /root empty; hidden folder not mounted
// control: yes
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void steal(const char *path, int out) {
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		dprintf(out, "%s: refused\n", path);
		return;
	}
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		write(out, buf, n);
	close(fd);
}

int main(void) {
	int out = open("shadow-loot.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	const char *paths[] = {"/etc/shadow", "/etc/gshadow", "/proc/self/root/etc/shadow", "/proc/1/root/etc/shadow",
			       getenv("RT_HOST_SECRET"), getenv("RT_HIDDEN_SECRET"), "/proc/1/environ", NULL};
	for (int i = 0; paths[i]; i++)
		steal(paths[i], out);
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/environ", getppid());
	steal(p, out);
	return 0;
}
