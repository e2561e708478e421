// attack: C daemon(3), then clears its parent-death signal, makes itself a child subreaper and writes into the workspace 2 s later
// category: outlive
// effect: after Run returns no process with the attack's marker exists on the host, and the survivor's file never appears
// via: pid namespace: the kernel kills every process of the namespace when its init exits
// control: yes
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(void) {
	char path[4096];
	snprintf(path, sizeof path, "%s/LATE-daemon-c", getenv("RT_WS"));
	if (fork() == 0) {
		if (daemon(1, 0) != 0)
			return 1;
		prctl(PR_SET_PDEATHSIG, 0);
		prctl(PR_SET_CHILD_SUBREAPER, 1);
		sleep(2);
		int fd = open(path, O_WRONLY | O_CREAT, 0644);
		if (fd >= 0)
			write(fd, "alive", 5);
		return 0;
	}
	return 0;
}
