// attack: hard links to the victim (link, linkat with AT_EMPTY_PATH on a read-only descriptor) and writes through MAP_SHARED mappings and /proc/self/fd reopening
// category: files
// effect: victim unchanged; no hard link to it anywhere
// via: read-only mount view (links cannot cross mounts; reopening checks the mount again)
// control: yes
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
	const char *v = getenv("RT_VICTIM");
	printf("link: %d\n", link(v, "hard"));
	int fd = open(v, O_RDONLY);
	printf("linkat empty path: %d\n", linkat(fd, "", AT_FDCWD, "hard2", AT_EMPTY_PATH));
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	printf("linkat proc: %d\n", linkat(AT_FDCWD, p, AT_FDCWD, "hard3", AT_SYMLINK_FOLLOW));
	int w = open(p, O_WRONLY);
	printf("reopen for writing: %d\n", w);
	if (w >= 0)
		write(w, "pwned", 5);
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("mmap shared writable: %p\n", (void *)m);
	if (m != MAP_FAILED)
		memcpy(m, "pwned", 5);
	int pfd = open(v, O_PATH);
	snprintf(p, sizeof p, "/proc/self/fd/%d", pfd);
	printf("O_PATH reopen: %d\n", open(p, O_RDWR));
	for (const char *h = "hard"; h; h = NULL) {
		int hf = open("hard", O_WRONLY);
		if (hf >= 0)
			write(hf, "pwned", 5);
	}
	return 0;
}
