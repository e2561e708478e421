// attack: C while (1) fork(); every process keeps forking
// category: exhaustion
// effect: Run returns within the wall limit with the pids limit hit; no process of the attack is left on the host
// via: cgroup pids limit; wall limit
// stop: pids
// limits: pids=24 wall=3s
#include <unistd.h>

int main(void) {
	for (;;)
		fork();
}
