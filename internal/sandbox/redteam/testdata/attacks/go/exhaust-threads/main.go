// attack: Go locks goroutines to OS threads, each blocked in a system call, until the runtime cannot create a thread
// category: exhaustion
// effect: Run returns with the pids limit hit (threads count as tasks)
// via: cgroup pids limit
// stop: pids
// limits: pids=32 wall=10s
package main

import (
	"runtime"
	"syscall"
)

func main() {
	for i := 0; i < 10000; i++ {
		go func() {
			runtime.LockOSThread()
			var ts = syscall.Timespec{Sec: 60}
			for {
				syscall.Nanosleep(&ts, nil)
			}
		}()
	}
	select {}
}
