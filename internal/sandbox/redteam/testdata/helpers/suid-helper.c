// A program the harness plants setuid-root (in the workspace and in the read-only outside folder).
// Run by the privilege attacks: it tries to become root and, whatever it got, creates a file in the
// current folder (owned by the uid it runs as: the harness fails any new file not owned by the
// sandbox's uid) and tries to overwrite the victim and create a file in /etc.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
	// Gaining root means ending up with euid 0 after starting as another real uid. In user-namespace
	// mode (TestRedTeamNonRoot) the sandbox already runs as uid 0 of its own namespace, without
	// capabilities and mapped to an unprivileged host uid: that is no gain.
	uid_t started = getuid();
	setuid(0);
	setgid(0);
	printf("suid-helper: uid %d euid %d gid %d egid %d\n", getuid(), geteuid(), getgid(), getegid());
	int fd = open("suid-ran", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dprintf(fd, "uid %d euid %d\n", getuid(), geteuid());
		close(fd);
	}
	const char *victim = getenv("RT_VICTIM");
	if (victim) {
		fd = open(victim, O_WRONLY | O_TRUNC);
		if (fd >= 0) {
			write(fd, "pwned by suid\n", 14);
			close(fd);
		}
	}
	const char *marker = getenv("RT_MARKER");
	if (marker) {
		char p[512];
		snprintf(p, sizeof p, "/etc/%s-suid", marker);
		fd = open(p, O_WRONLY | O_CREAT, 0644);
		if (fd >= 0)
			close(fd);
	}
	if (geteuid() == 0 && started != 0) {
		fd = open("PWNED-suid", O_WRONLY | O_CREAT, 0644);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
