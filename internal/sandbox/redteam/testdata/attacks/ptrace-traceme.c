// attack: a child calls PTRACE_TRACEME and stops; the parent then rewrites a variable in the child with PTRACE_POKEDATA; the child saves a proof file if it changed
// category: ptrace
// effect: no proof file (the child's memory is unchanged)
// via: seccomp denies ptrace
// control: yes
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long cell = 1111;

int main(void) {
	pid_t pid = fork();
	if (pid == 0) {
		long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
		printf("traceme: %ld\n", r);
		fflush(stdout);
		raise(SIGSTOP);
		if (cell != 1111) {
			int fd = open("PWNED-ptrace-traceme", O_WRONLY | O_CREAT, 0644);
			close(fd);
		}
		_exit(0);
	}
	int st;
	waitpid(pid, &st, WUNTRACED);
	long r = ptrace(PTRACE_POKEDATA, pid, (void *)&cell, (void *)4242);
	printf("poke: %ld\n", r);
	ptrace(PTRACE_CONT, pid, 0, 0);
	kill(pid, SIGCONT);
	waitpid(pid, &st, 0);
	return 0;
}
