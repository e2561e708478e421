// attack: C clone(2) with CLONE_NEWUSER|CLONE_NEWNS and a raw clone3 with namespace flags, then uid mapping and a read-write remount of the outside folder from the child
// category: privilege
// effect: victim unchanged; no proof file
// via: seccomp denies clone with namespace flags and clone3 (ENOSYS)
// control: yes
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

static char stack[1 << 16];

static int child(void *arg) {
	(void)arg;
	int fd = open("PWNED-clone-newuser", O_WRONLY | O_CREAT, 0644);
	close(fd);
	mount(NULL, getenv("RT_OUTSIDE"), NULL, MS_REMOUNT | MS_BIND, NULL);
	fd = open(getenv("RT_VICTIM"), O_WRONLY | O_TRUNC);
	if (fd >= 0)
		write(fd, "pwned", 5);
	return 0;
}

int main(void) {
	int pid = clone(child, stack + sizeof stack, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, NULL);
	printf("clone: %d\n", pid);
	if (pid > 0)
		waitpid(pid, 0, 0);
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_NEWUSER | CLONE_NEWNS;
	ca.exit_signal = SIGCHLD;
	long r = syscall(SYS_clone3, &ca, sizeof ca);
	if (r == 0) {
		child(NULL);
		_exit(0);
	}
	printf("clone3: %ld\n", r);
	if (r > 0)
		waitpid(r, 0, 0);
	printf("unshare: %d\n", unshare(CLONE_NEWUSER));
	return 0;
}
