// attack: C opens raw, packet and netlink sockets, tries to bring the loopback up with ioctl(SIOCSIFFLAGS), then connects over TCP to the host's listener
// category: network
// effect: the test's TCP listener records no connection
// via: seccomp refuses raw, packet and netlink sockets; no capabilities; empty network namespace; Landlock
// control: yes
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>

int main(void) {
	printf("raw: %d\n", socket(AF_INET, SOCK_RAW, 255));
	printf("packet: %d\n", socket(AF_PACKET, SOCK_RAW, 0));
	printf("netlink: %d\n", socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
	printf("udp: %d\n", socket(AF_INET, SOCK_DGRAM, 0));
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	printf("lo up: %d\n", ioctl(s, SIOCSIFFLAGS, &ifr));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(getenv("RT_TCP")))};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
		write(s, "escaped-c\n", 10);
		puts("connected");
	}
	return 0;
}
