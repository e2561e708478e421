// attack: a 64-bit C program enters the i386 system-call table with int 0x80 (creat of a proof file, with the path in low memory from mmap MAP_32BIT), which a default-allow seccomp filter lets through
// category: privilege
// effect: no proof file; the process is killed by SIGSYS
// via: seccomp kills any call of a foreign architecture (AUDIT_ARCH_I386)
// control: yes
// signal: SIGSYS
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		return 1;
	strcpy(low, "PWNED-int80");
	long ret;
	// i386 creat(path, 0644) is call 8.
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(8), "b"((unsigned int)(unsigned long)low), "c"(0644) : "memory");
	printf("int80 creat: %ld\n", ret);
	return 0;
}
