// attack: process_vm_readv and process_vm_writev into a forked sibling's memory; the sibling saves a proof file if its buffer changed
// category: ptrace
// effect: no proof file (the sibling's memory is unchanged)
// via: seccomp denies process_vm_readv/writev
// control: yes
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[16] = "untouched";

int main(void) {
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 30; i++) {
			usleep(50000);
			if (strcmp(buf, "untouched") != 0) {
				int fd = open("PWNED-vm-writev", O_WRONLY | O_CREAT, 0644);
				close(fd);
				break;
			}
		}
		_exit(0);
	}
	char got[16] = {0}, evil[16] = "overwritten";
	struct iovec l = {got, sizeof got}, r = {buf, sizeof buf};
	printf("readv: %zd\n", process_vm_readv(pid, &l, 1, &r, 1, 0));
	struct iovec w = {evil, sizeof evil};
	printf("writev: %zd\n", process_vm_writev(pid, &w, 1, &r, 1, 0));
	waitpid(pid, 0, 0);
	return 0;
}
