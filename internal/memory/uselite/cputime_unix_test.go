//go:build unix

package uselite

import (
	"syscall"
	"time"
)

// cpuTime returns the user and system CPU time the process has used, so benchmarks can report
// figures that do not depend on how busy a shared machine is.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
