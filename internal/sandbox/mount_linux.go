//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// systemPaths are the host paths every sandbox sees read-only. Everything else (home folders, /root,
// /run and its sockets, /var, /srv, other workspaces, /sys) is absent unless Spec.ReadOnly adds it.
var systemPaths = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"}

// maskedFiles are files inside the system view replaced by an empty unreadable file, on top of the
// uid drop, so a mistake in ownership on the host does not expose them.
var maskedFiles = []string{"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-"}

// devices are the host device nodes bound into the sandbox's /dev.
var devices = []string{"null", "zero", "full", "random", "urandom"}

// stagingDir is where the new root is assembled inside the child's private mount namespace. Mounting
// over it hides nothing the sandbox needs: every source is cloned (open_tree) before.
const stagingDir = "/tmp"

// A bind is a detached clone of a host mount tree waiting to be attached in the new root.
type bind struct {
	fd      int
	dst     string
	isDir   bool
	symlink string // when set, dst is created as this symlink instead of a mount
}

// cloneTree clones the mount tree at src as a detached mount with the given attributes.
func cloneTree(src string, recursive bool, attr uint64) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, flags)
	if err != nil {
		return -1, fmt.Errorf("clone %s: %w", src, err)
	}
	setFlags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		setFlags |= unix.AT_RECURSIVE
	}
	ma := unix.MountAttr{Attr_set: attr, Propagation: unix.MS_PRIVATE}
	if err := unix.MountSetattr(fd, "", setFlags, &ma); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("set attributes of %s: %w", src, err)
	}
	return fd, nil
}

const (
	attrRO = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV
	attrRW = unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV
)

// buildRoot assembles the sandbox's file system view and makes it the root: the system read-only, the
// workspace writable with its .git read-only, the extra read-only paths, a fresh /tmp, a new /proc for
// the new pid namespace and a minimal /dev. The process must be root in a new mount namespace.
func buildRoot(cs *childSpec) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return stage("mount", fmt.Errorf("make / private: %w", err))
	}
	var binds []bind
	defer func() {
		for _, b := range binds {
			if b.fd >= 0 {
				unix.Close(b.fd)
			}
		}
	}()
	add := func(src, dst string, recursive bool, attr uint64) error {
		fd, err := cloneTree(src, recursive, attr)
		if err != nil {
			return err
		}
		rst, err := os.Stat(src)
		if err != nil {
			unix.Close(fd)
			return err
		}
		binds = append(binds, bind{fd: fd, dst: dst, isDir: rst.IsDir()})
		return nil
	}
	for _, p := range systemPaths {
		st, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if st.Mode()&os.ModeSymlink != 0 { // merged /usr: /bin -> usr/bin
			target, err := os.Readlink(p)
			if err != nil {
				return stage("mount", err)
			}
			binds = append(binds, bind{fd: -1, dst: p, symlink: target})
			continue
		}
		if err := add(p, p, true, attrRO); err != nil {
			return stage("mount", err)
		}
	}
	for _, p := range cs.ReadOnly {
		if err := add(p, p, true, attrRO); err != nil {
			return stage("mount", fmt.Errorf("read-only path: %w", err))
		}
	}
	if err := add(cs.Dir, cs.Dir, false, attrRW); err != nil {
		return stage("mount", fmt.Errorf("workspace: %w", err))
	}
	gitDir := filepath.Join(cs.Dir, ".git")
	if st, err := os.Lstat(gitDir); err == nil && (st.IsDir() || st.Mode().IsRegular()) {
		if err := add(gitDir, gitDir, true, attrRO); err != nil {
			return stage("mount", fmt.Errorf("workspace .git: %w", err))
		}
	}

	// Shallow mount points first, so a path inside another is attached on top of it.
	sort.SliceStable(binds, func(i, j int) bool { return depth(binds[i].dst) < depth(binds[j].dst) })

	root := stagingDir
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=1m"); err != nil {
		return stage("mount", fmt.Errorf("staging root: %w", err))
	}
	for _, d := range []string{"tmp", "dev", "proc", "root", "home", "run", "var"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			return stage("mount", err)
		}
	}
	if err := os.Symlink("../tmp", filepath.Join(root, "var", "tmp")); err != nil {
		return stage("mount", err)
	}
	if err := unix.Mount("tmpfs", filepath.Join(root, "tmp"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpfsOptions(cs.TmpSize)); err != nil {
		return stage("mount", fmt.Errorf("/tmp: %w", err))
	}
	if err := buildDev(filepath.Join(root, "dev"), cs.TmpSize); err != nil {
		return stage("mount", fmt.Errorf("/dev: %w", err))
	}
	if err := unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return stage("mount", fmt.Errorf("/proc: %w", err))
	}
	for i := range binds {
		b := &binds[i]
		dst := filepath.Join(root, b.dst)
		if b.symlink != "" {
			if err := os.Symlink(b.symlink, dst); err != nil {
				return stage("mount", err)
			}
			continue
		}
		if err := mountPoint(dst, b.isDir); err != nil {
			return stage("mount", fmt.Errorf("mount point %s: %w", b.dst, err))
		}
		if err := unix.MoveMount(b.fd, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return stage("mount", fmt.Errorf("attach %s: %w", b.dst, err))
		}
		unix.Close(b.fd)
		b.fd = -1
	}
	if err := maskFiles(root); err != nil {
		return stage("mount", err)
	}
	if err := unix.Mount("", root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return stage("mount", fmt.Errorf("make root read-only: %w", err))
	}
	// pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the new view.
	if err := unix.Chdir(root); err != nil {
		return stage("pivot_root", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return stage("pivot_root", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return stage("pivot_root", fmt.Errorf("detach old root: %w", err))
	}
	if err := unix.Chdir("/"); err != nil {
		return stage("pivot_root", err)
	}
	return nil
}

// mountPoint creates an empty directory or file at p to mount on. A path that already exists (inside
// a read-only system view, say) is used as it is.
func mountPoint(p string, dir bool) error {
	if _, err := os.Lstat(p); err == nil {
		return nil
	}
	if dir {
		return os.MkdirAll(p, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// tmpfsOptions are the mount options of the sandbox's /tmp and /dev/shm: without a memory cgroup to
// charge their pages to, each is capped at size bytes (0: the kernel's default, half of the RAM).
func tmpfsOptions(size uint64) string {
	if size == 0 {
		return "mode=1777"
	}
	return fmt.Sprintf("mode=1777,size=%d", size)
}

// buildDev fills a tmpfs at dir with the few device nodes programs expect; shmSize caps /dev/shm
// (see tmpfsOptions).
func buildDev(dir string, shmSize uint64) error {
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return err
	}
	for _, d := range devices {
		p := filepath.Join(dir, d)
		if err := mountPoint(p, false); err != nil {
			return err
		}
		if err := unix.Mount("/dev/"+d, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", d, err)
		}
		if err := unix.Mount("", p, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_NOSUID|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("remount /dev/%s: %w", d, err)
		}
	}
	links := [][2]string{{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}}
	for _, l := range links {
		if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
			return err
		}
	}
	shm := filepath.Join(dir, "shm")
	if err := os.Mkdir(shm, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, tmpfsOptions(shmSize)); err != nil {
		return err
	}
	return unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NOEXEC, "")
}

// maskFiles hides the secret files of the system view behind an empty file that nobody may read.
func maskFiles(root string) error {
	empty := filepath.Join(root, ".mask")
	f, err := os.OpenFile(empty, os.O_CREATE|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	f.Close()
	defer os.Remove(empty)
	for _, m := range maskedFiles {
		p := filepath.Join(root, m)
		st, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) || (err == nil && !st.Mode().IsRegular()) {
			continue
		}
		if err != nil {
			return err
		}
		if err := unix.Mount(empty, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mask %s: %w", m, err)
		}
		if err := unix.Mount("", p, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("mask %s: %w", m, err)
		}
	}
	return nil
}

// depth counts the components of a clean absolute path.
func depth(p string) int { return strings.Count(p, "/") }

// cleanAbs reports whether p is an absolute, clean path other than "/".
func cleanAbs(p string) bool {
	return filepath.IsAbs(p) && filepath.Clean(p) == p && p != "/" && !strings.ContainsRune(p, 0)
}
