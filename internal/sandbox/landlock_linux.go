//go:build linux && (amd64 || arm64)

package sandbox

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock is used through its three system calls directly rather than through go-landlock: the
// child needs exact control of which thread is restricted (the one that calls execve; go-landlock
// restricts all threads and pulls in libcap's psx), and the rules here are a handful of lines.

// landlockAttr is struct landlock_ruleset_attr up to the field of ABI 6. Its size is passed per ABI so
// older kernels, which reject unknown non-zero fields, accept it.
type landlockAttr struct {
	fs     uint64
	net    uint64
	scoped uint64
}

// landlockABI returns the kernel's Landlock ABI version, or 0 when Landlock is unavailable.
func landlockABI() int {
	v, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 {
		return 0
	}
	return int(v)
}

// fsRights returns every file-system access right the given ABI knows.
func fsRights(abi int) uint64 {
	r := uint64(unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM)
	if abi >= 2 {
		r |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		r |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		r |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	return r
}

// landlockRuleset is a ruleset ready to be enforced on the calling thread.
type landlockRuleset struct {
	fd int
}

// newLandlockRuleset builds the ruleset of a sandbox inside its new root: everything visible is
// readable and executable; only the workspace, /tmp and /dev/shm are writable (the .git read-only
// mount still refuses writes); the data devices may be written; with ABI 4 no TCP bind or connect
// is allowed, except a connect to proxyPort when it is not 0 (the NetworkProxy listener); with ABI 6
// abstract Unix sockets and signals are scoped to the sandbox.
func newLandlockRuleset(abi int, workspace string, proxyPort int) (*landlockRuleset, error) {
	all := fsRights(abi)
	attr := landlockAttr{fs: all}
	size := unsafe.Sizeof(attr.fs)
	if abi >= 4 {
		attr.net = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
		size = unsafe.Offsetof(attr.scoped)
	}
	if abi >= 6 {
		attr.scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
		size = unsafe.Sizeof(attr)
	}
	fd, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if e != 0 {
		return nil, fmt.Errorf("create ruleset (ABI %d): %w", abi, e)
	}
	rs := &landlockRuleset{fd: int(fd)}
	read := uint64(unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_EXECUTE)
	dev := uint64(unix.LANDLOCK_ACCESS_FS_READ_FILE|unix.LANDLOCK_ACCESS_FS_WRITE_FILE) |
		all&(unix.LANDLOCK_ACCESS_FS_TRUNCATE|unix.LANDLOCK_ACCESS_FS_IOCTL_DEV)
	rules := []struct {
		path   string
		access uint64
	}{
		{"/", read},
		{workspace, all},
		{"/tmp", all},
		{"/dev/shm", all},
		{"/dev/null", dev},
		{"/dev/zero", dev},
		{"/dev/full", dev},
	}
	for _, r := range rules {
		if err := rs.allow(r.path, r.access); err != nil {
			unix.Close(rs.fd)
			return nil, err
		}
	}
	if abi >= 4 && proxyPort > 0 {
		if err := rs.allowConnect(proxyPort); err != nil {
			unix.Close(rs.fd)
			return nil, err
		}
	}
	return rs, nil
}

// landlockNetPortAttr is struct landlock_net_port_attr (two 64-bit fields, so packing changes nothing).
type landlockNetPortAttr struct {
	allowedAccess uint64
	port          uint64
}

// landlockRuleNetPort is LANDLOCK_RULE_NET_PORT, which golang.org/x/sys/unix does not define.
const landlockRuleNetPort = 2

// allowConnect adds a rule that allows TCP connect (not bind) to port, on any address: inside the
// sandbox's network namespace only its loopback exists.
func (rs *landlockRuleset) allowConnect(port int) error {
	na := landlockNetPortAttr{allowedAccess: unix.LANDLOCK_ACCESS_NET_CONNECT_TCP, port: uint64(port)}
	_, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rs.fd), landlockRuleNetPort,
		uintptr(unsafe.Pointer(&na)), 0, 0, 0)
	if e != 0 {
		return fmt.Errorf("add rule for TCP port %d: %w", port, e)
	}
	return nil
}

// allow adds a path-beneath rule.
func (rs *landlockRuleset) allow(path string, access uint64) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	pb := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	_, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rs.fd), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&pb)), 0, 0, 0)
	if e != 0 {
		return fmt.Errorf("add rule for %s: %w", path, e)
	}
	return nil
}

// restrictSelf enforces the ruleset on the calling thread (and what it executes). It needs
// no_new_privs.
func (rs *landlockRuleset) restrictSelf() error {
	defer unix.Close(rs.fd)
	if _, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rs.fd), 0, 0); e != 0 {
		return fmt.Errorf("restrict self: %w", e)
	}
	return nil
}
