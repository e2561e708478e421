package sandbox

import "golang.org/x/sys/unix"

// auditArch is the only architecture whose system calls the filter lets through (32-bit ARM calls
// arrive with AUDIT_ARCH_ARM and are killed).
const auditArch = unix.AUDIT_ARCH_AARCH64

// foreignNrBit is unused on arm64.
const foreignNrBit = 0

// deniedSyscalls fail with EPERM.
var deniedSyscalls = append(commonDenied, unix.SYS_NFSSERVCTL, unix.SYS_LOOKUP_DCOOKIE)
