// attack: the classic chroot escape (chroot into a subfolder while keeping a descriptor outside, then chdir .. many times and chroot(".")), then delete the hidden victim
// category: privilege
// effect: hidden/ and outside/ trees unchanged
// via: no CAP_SYS_CHROOT; seccomp denies chroot and pivot_root
// control: yes
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
	mkdir("jail", 0755);
	int outer = open(".", O_RDONLY);
	printf("chroot: %d\n", chroot("jail"));
	fchdir(outer);
	for (int i = 0; i < 64; i++)
		chdir("..");
	printf("chroot .: %d\n", chroot("."));
	printf("pivot_root: %ld\n", (long)syscall(155, ".", "."));
	printf("unlink hidden: %d\n", unlink(getenv("RT_HIDDEN_VICTIM")));
	printf("unlink victim: %d\n", unlink(getenv("RT_VICTIM")));
	return 0;
}
