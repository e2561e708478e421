// attack: C mallocs and memsets 8 MiB blocks forever
// category: exhaustion
// effect: Run returns with the process killed by the memory limit
// via: cgroup memory limit
// stop: memory
// limits: memory=64MiB wall=20s
#include <stdlib.h>
#include <string.h>

int main(void) {
	for (;;) {
		char *p = malloc(8 << 20);
		if (!p)
			continue;
		memset(p, 1, 8 << 20);
	}
}
