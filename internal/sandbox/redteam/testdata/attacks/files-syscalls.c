// attack: raw system calls on the victim: unlinkat, renameat2 with RENAME_EXCHANGE against a workspace file, openat on a directory descriptor, truncate, utimensat, fchmodat, fchownat
// category: files
// effect: victim and outside/ tree unchanged
// via: read-only mount view
// control: yes
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *what, long r) { printf("%s: %ld\n", what, r); }

int main(void) {
	const char *v = getenv("RT_VICTIM"), *o = getenv("RT_OUTSIDE");
	int fd = open("mine.txt", O_WRONLY | O_CREAT, 0644);
	write(fd, "pwned\n", 6);
	close(fd);
	char mine[4096];
	snprintf(mine, sizeof mine, "%s/mine.txt", getenv("RT_WS"));
	report("renameat2 exchange", syscall(SYS_renameat2, AT_FDCWD, mine, AT_FDCWD, v, 2 /* RENAME_EXCHANGE */));
	report("rename over", rename(mine, v));
	int d = open(o, O_RDONLY | O_DIRECTORY);
	report("openat", openat(d, "victim.txt", O_WRONLY | O_TRUNC));
	report("unlinkat", unlinkat(d, "victim.txt", 0));
	report("unlinkat dir", unlinkat(d, "empty-dir", AT_REMOVEDIR));
	report("truncate", truncate(v, 0));
	struct timespec ts[2] = {{0, 0}, {0, 0}};
	report("utimensat", utimensat(AT_FDCWD, v, ts, 0));
	report("fchmodat", fchmodat(d, "victim.txt", 0777, 0));
	report("fchownat", fchownat(d, "victim.txt", 0, 0, 0));
	int r = open(v, O_RDONLY);
	report("ftruncate on read-only fd", ftruncate(r, 0));
	report("fchmod", fchmod(r, 0777));
	return 0;
}
