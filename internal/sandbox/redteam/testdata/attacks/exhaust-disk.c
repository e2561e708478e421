// attack: C writes 1 MiB blocks to a workspace file until write fails
// category: exhaustion
// effect: the file stops growing at the file-size limit (writes fail with EFBIG): one file reaches it exactly, none is larger, and the attack ends
// via: RLIMIT_FSIZE
// stop: filesize
// limits: filesize=2MiB wall=20s
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
	static char buf[1 << 20];
	memset(buf, 'x', sizeof buf);
	int fd = open("fill.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	while (write(fd, buf, sizeof buf) > 0)
		;
	return 0;
}
