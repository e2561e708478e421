// attack: bpf(2): create a map and load a socket-filter program; any success is saved as a proof file
// category: privilege
// effect: no proof file
// via: seccomp denies bpf
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

int main(void) {
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 1;
	long m = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
	printf("map: %ld\n", m);
	struct bpf_insn prog[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (unsigned long)prog;
	a.insn_cnt = 2;
	a.license = (unsigned long)"GPL";
	long p = syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
	printf("prog: %ld\n", p);
	if (m >= 0 || p >= 0)
		close(open("PWNED-bpf", O_WRONLY | O_CREAT, 0644));
	return 0;
}
