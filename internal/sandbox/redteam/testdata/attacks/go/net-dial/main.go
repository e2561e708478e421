// attack: Go net.Dial over tcp4, tcp6, udp, unix, unixgram and the abstract socket, and net.LookupHost through the pure-Go resolver
// category: network
// effect: none of the test's listeners records anything, and no name resolves (a resolved address would be saved as a proof file)
// via: empty network namespace; Landlock denies TCP connect; seccomp refuses UDP and Unix sockets
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	e := os.Getenv
	for _, t := range [][2]string{
		{"tcp4", "127.0.0.1:" + e("RT_TCP")},
		{"tcp6", "[::1]:" + e("RT_TCP6")},
		{"udp4", "127.0.0.1:" + e("RT_UDP")},
		{"unix", e("RT_UNIX")},
		{"unixgram", e("RT_UNIX")},
		{"unix", "@" + e("RT_ABSTRACT")},
	} {
		c, err := net.DialTimeout(t[0], t[1], 2*time.Second)
		if err != nil {
			fmt.Println("refused", t, err)
			continue
		}
		c.Write([]byte("escaped-go\n"))
		c.Close()
		fmt.Println("connected", t)
	}
	for _, r := range []*net.Resolver{{PreferGo: true}, net.DefaultResolver} {
		addrs, err := r.LookupHost(context.Background(), "example.com")
		if err != nil {
			fmt.Println("no resolution", err)
			continue
		}
		os.WriteFile("PWNED-dns-go", []byte(fmt.Sprint(addrs)), 0o644)
	}
}
