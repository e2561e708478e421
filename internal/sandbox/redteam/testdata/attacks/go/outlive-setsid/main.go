// attack: Go starts a shell with Setsid and Setpgid through os/exec, releases it and exits
// category: outlive
// effect: after Run returns no process with the attack's marker exists on the host, and the survivor's file never appears
// via: pid namespace
// control: yes
package main

import (
	"os"
	"os/exec"
	"syscall"
)

func main() {
	c := exec.Command("/bin/sh", "-c", `trap "" HUP TERM; sleep 2; echo alive > "$RT_WS/LATE-go"`, os.Getenv("RT_MARKER"))
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		os.Exit(1)
	}
	c.Process.Release()
}
