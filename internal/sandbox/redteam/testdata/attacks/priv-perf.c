// attack: perf_event_open on a software and a hardware counter of the process itself and of every CPU; an open counter is saved as a proof file
// category: privilege
// effect: no proof file
// via: seccomp denies perf_event_open
// control: yes
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>

int main(void) {
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	long self = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	a.type = PERF_TYPE_HARDWARE;
	a.config = PERF_COUNT_HW_INSTRUCTIONS;
	long cpu = syscall(SYS_perf_event_open, &a, -1, 0, -1, 0);
	printf("perf self %ld, cpu %ld\n", self, cpu);
	if (self >= 0 || cpu >= 0)
		close(open("PWNED-perf", O_WRONLY | O_CREAT, 0644));
	return 0;
}
