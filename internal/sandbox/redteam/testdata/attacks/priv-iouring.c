// attack: io_uring_setup (io_uring operations bypass per-call seccomp checks); a ring is saved as a proof file
// category: privilege
// effect: no proof file
// via: seccomp denies io_uring_setup, io_uring_enter and io_uring_register
// control: yes
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/io_uring.h>

int main(void) {
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	long fd = syscall(SYS_io_uring_setup, 4, &p);
	printf("io_uring_setup: %ld\n", fd);
	if (fd >= 0)
		close(open("PWNED-io_uring", O_WRONLY | O_CREAT, 0644));
	printf("io_uring_enter: %ld\n", (long)syscall(SYS_io_uring_enter, 0, 0, 0, 0, NULL, 0));
	return 0;
}
