// attack: C creates threads (each parked forever) until pthread_create fails, then keeps trying
// category: exhaustion
// effect: Run returns with the pids limit hit (threads count as tasks)
// via: cgroup pids limit; wall limit
// stop: pids
// limits: pids=32 wall=3s
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *park(void *arg) {
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(void) {
	int n = 0;
	for (;;) {
		pthread_t t;
		if (pthread_create(&t, NULL, park, NULL) == 0)
			n++;
		else
			usleep(1000);
	}
}
