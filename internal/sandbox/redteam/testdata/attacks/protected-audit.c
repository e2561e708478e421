// attack: C opens the audit log with O_APPEND and O_RDWR to add and overwrite entries, ftruncates it, replaces its head file and unlinks both
// category: protected
// effect: the audit log verifies at the end with exactly one entry per attack
// via: read-only mount of the home (outside the workspace)
// control: yes
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
	const char *log = getenv("RT_AUDIT");
	char head[4096];
	snprintf(head, sizeof head, "%s.head", log);
	const char *forged = "{\"seq\":1,\"time\":\"2001-01-01T00:00:00Z\",\"kind\":\"call\",\"prev\":\"\"}\n";
	int fd = open(log, O_WRONLY | O_APPEND);
	printf("append: %d\n", fd);
	if (fd >= 0)
		write(fd, forged, strlen(forged));
	fd = open(log, O_RDWR);
	printf("rdwr: %d\n", fd);
	if (fd >= 0) {
		pwrite(fd, "X", 1, 10);
		ftruncate(fd, 0);
	}
	printf("truncate: %d\n", truncate(log, 0));
	fd = open(head, O_WRONLY | O_TRUNC);
	if (fd >= 0)
		write(fd, "1 0\n", 4);
	printf("unlink: %d %d\n", unlink(log), unlink(head));
	return 0;
}
