package sandbox

import "golang.org/x/sys/unix"

// auditArch is the only architecture whose system calls the filter lets through.
const auditArch = unix.AUDIT_ARCH_X86_64

// foreignNrBit marks x32 system calls (__X32_SYSCALL_BIT), which arrive with the x86-64 audit arch.
const foreignNrBit = 0x40000000

// deniedSyscalls fail with EPERM.
var deniedSyscalls = append(commonDenied,
	unix.SYS_IOPL, unix.SYS_IOPERM, unix.SYS_USELIB, unix.SYS_NFSSERVCTL, unix.SYS_LOOKUP_DCOOKIE,
	unix.SYS_MODIFY_LDT,
)
