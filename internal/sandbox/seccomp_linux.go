//go:build linux && (amd64 || arm64)

package sandbox

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp filter: a system call from any architecture but the native one kills the process (on
// x86-64 that covers i386 `int 0x80` and x32 calls, which a default-allow filter without this check
// would let through); a fixed list of calls that exist to escape, observe or reconfigure the system
// fails with EPERM; socket() is allowed only for TCP over IPv4/IPv6 (UDP, raw, netlink, packet,
// MPTCP and Unix sockets by path are refused — socketpair stays for pipes between processes); clone
// may not create namespaces; clone3 reports ENOSYS so libc falls back to clone, whose flags can be
// checked; TIOCSTI and TIOCLINUX (typing into a terminal) are refused. Everything else is allowed:
// the file system and the network are the business of the mount view, Landlock and the network
// namespace.

// seccomp_data offsets.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16 // low 32 bits of args[0] (little-endian)
)

func offArg(i int) uint32 { return uint32(offArg0 + 8*i) }

// Return values.
const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retKill   = unix.SECCOMP_RET_KILL_PROCESS
	retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
)

// cloneNamespaceFlags are the clone(2) flags that create namespaces (CLONE_NEWTIME is valid only for
// unshare and clone3, and its bit is part of the exit signal in clone).
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// An asm is a tiny BPF assembler with symbolic jump targets.
type asm struct {
	ins    []unix.SockFilter
	jumps  map[int][2]string // instruction index -> true/false targets ("" = next)
	labels map[string]int
}

func newAsm() *asm { return &asm{jumps: map[int][2]string{}, labels: map[string]int{}} }

func (a *asm) label(name string) { a.labels[name] = len(a.ins) }

func (a *asm) stmt(code uint16, k uint32) { a.ins = append(a.ins, unix.SockFilter{Code: code, K: k}) }

func (a *asm) load(off uint32) { a.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, off) }

func (a *asm) ret(k uint32) { a.stmt(unix.BPF_RET|unix.BPF_K, k) }

// jump adds a conditional jump (op is BPF_JEQ, BPF_JSET, ...) to the labels jt and jf.
func (a *asm) jump(op uint16, k uint32, jt, jf string) {
	a.jumps[len(a.ins)] = [2]string{jt, jf}
	a.stmt(unix.BPF_JMP|op|unix.BPF_K, k)
}

// assemble resolves the labels.
func (a *asm) assemble() ([]unix.SockFilter, error) {
	out := append([]unix.SockFilter(nil), a.ins...)
	for i, j := range a.jumps {
		for n, name := range j {
			off := 0
			if name != "" {
				t, ok := a.labels[name]
				if !ok {
					return nil, fmt.Errorf("seccomp: no label %q", name)
				}
				off = t - i - 1
			}
			if off < 0 || off > 255 {
				return nil, fmt.Errorf("seccomp: jump to %q out of range (%d)", name, off)
			}
			if n == 0 {
				out[i].Jt = uint8(off)
			} else {
				out[i].Jf = uint8(off)
			}
		}
	}
	return out, nil
}

// buildSeccomp assembles the filter for this architecture.
func buildSeccomp() ([]unix.SockFilter, error) {
	a := newAsm()
	a.load(offArch)
	a.jump(unix.BPF_JEQ, auditArch, "", "kill")
	a.load(offNr)
	if foreignNrBit != 0 {
		a.jump(unix.BPF_JSET, foreignNrBit, "kill", "")
	}
	for _, nr := range deniedSyscalls {
		a.jump(unix.BPF_JEQ, uint32(nr), "eperm", "")
	}
	a.jump(unix.BPF_JEQ, unix.SYS_SOCKET, "socket", "")
	a.jump(unix.BPF_JEQ, unix.SYS_SOCKETPAIR, "socketpair", "")
	a.jump(unix.BPF_JEQ, unix.SYS_CLONE, "clone", "")
	a.jump(unix.BPF_JEQ, unix.SYS_CLONE3, "enosys", "")
	a.jump(unix.BPF_JEQ, unix.SYS_IOCTL, "ioctl", "")
	a.ret(retAllow)

	a.label("socket")
	a.load(offArg(0))
	a.jump(unix.BPF_JEQ, unix.AF_INET, "socket_type", "")
	a.jump(unix.BPF_JEQ, unix.AF_INET6, "socket_type", "eperm")
	a.label("socket_type")
	a.load(offArg(1))
	a.stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, ^uint32(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC))
	a.jump(unix.BPF_JEQ, unix.SOCK_STREAM, "", "eperm")
	a.load(offArg(2))
	a.jump(unix.BPF_JEQ, 0, "allow", "")
	a.jump(unix.BPF_JEQ, unix.IPPROTO_TCP, "allow", "eperm")

	a.label("socketpair")
	a.load(offArg(0))
	a.jump(unix.BPF_JEQ, unix.AF_UNIX, "allow", "eperm")

	a.label("clone")
	a.load(offArg(0))
	a.jump(unix.BPF_JSET, cloneNamespaceFlags, "eperm", "allow")

	a.label("ioctl")
	a.load(offArg(1))
	a.jump(unix.BPF_JEQ, unix.TIOCSTI, "eperm", "")
	a.jump(unix.BPF_JEQ, unix.TIOCLINUX, "eperm", "allow")

	a.label("allow")
	a.ret(retAllow)
	a.label("kill")
	a.ret(retKill)
	a.label("eperm")
	a.ret(retEPERM)
	a.label("enosys")
	a.ret(retENOSYS)
	return a.assemble()
}

// installSeccomp loads the filter on the calling thread. It needs no_new_privs.
func installSeccomp(filter []unix.SockFilter) error {
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("load filter: %w", e)
	}
	return nil
}
