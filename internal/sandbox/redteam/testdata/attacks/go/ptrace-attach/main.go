// attack: Go starts a sibling (sleep), attaches to it with PtraceAttach and PtraceSeize, and reads its registers; the tracer saves a proof file if any call worked
// category: ptrace
// effect: no proof file
// via: seccomp denies ptrace
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
	c := exec.Command("/bin/sleep", "3")
	if err := c.Start(); err != nil {
		return
	}
	pid := c.Process.Pid
	err := syscall.PtraceAttach(pid)
	fmt.Println("attach", err)
	if err == nil {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
		var regs syscall.PtraceRegs
		if syscall.PtraceGetRegs(pid, &regs) == nil {
			os.WriteFile("PWNED-ptrace-go", []byte(fmt.Sprint(regs)), 0o644)
		}
	}
	_, _, e := syscall.RawSyscall6(syscall.SYS_PTRACE, 0x4206, uintptr(pid), 0, 0, 0, 0) // PTRACE_SEIZE
	fmt.Println("seize", e)
	if e == 0 {
		os.WriteFile("PWNED-ptrace-seize", nil, 0o644)
	}
	c.Process.Kill()
	c.Wait()
}
