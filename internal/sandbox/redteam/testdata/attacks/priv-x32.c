// attack: an x32 system call (the native number with bit 30 set) to creat a proof file
// category: privilege
// effect: no proof file; the process is killed by SIGSYS
// via: seccomp kills x32 calls
// signal: SIGSYS
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
	long r = syscall(0x40000000 | SYS_creat, "PWNED-x32", 0644);
	printf("x32 creat: %ld\n", r);
	return 0;
}
