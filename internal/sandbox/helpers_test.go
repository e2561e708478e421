//go:build linux && (amd64 || arm64)

package sandbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const python = "/usr/bin/python3"

// needRoot skips tests that need what only root has here (cgroups; namespaces without a user
// namespace). CI runs as root, so these run there.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (cgroups); CI runs these as root")
	}
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("%s is not installed", python)
	}
}

// chownTree gives a host tree to the sandbox's uid, so that only the sandbox's own mechanisms (and not
// file ownership) stand between a sandboxed process and the files.
func chownTree(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, DefaultUID, DefaultGID)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// workspace makes a workspace owned by the sandbox uid with a .git directory in it.
func workspace(t *testing.T) string {
	t.Helper()
	// The temp dir's parent is 0700 root on some systems; the workspace itself must be reachable.
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, ".git", "refs"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, ".git", "config"), []byte("[core]\n\tbare = false\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644))
	chownTree(t, dir)
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// run runs spec in the sandbox and fails the test on a setup error.
func run(t *testing.T, spec Spec) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, spec)
	if err != nil {
		t.Fatalf("Run(%q): %v", spec.Argv, err)
	}
	return res
}

// sh returns a spec running a shell script in dir.
func sh(dir, script string) Spec {
	return Spec{Argv: []string{"/bin/sh", "-c", script}, Dir: dir}
}

// py returns a spec running a Python script in dir.
func py(dir, script string) Spec {
	return Spec{Argv: []string{python, "-c", script}, Dir: dir}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func listDir(t *testing.T, p string) []string {
	t.Helper()
	ents, err := os.ReadDir(p)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// processesWith returns the host pids whose command line contains marker.
func processesWith(t *testing.T, marker string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte(marker)) {
			pids = append(pids, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return pids
}

// hostRun runs a command on the host, outside any sandbox: the positive control showing an attack
// program really does what it claims when nothing stops it.
func hostRun(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// tinyELF returns a static x86-64 ELF executable whose whole program is code followed by data, loaded
// at 0x400000. code may refer to the data's address through dataAddr (computed for the layout).
// It stands in for `gcc -m32` where no 32-bit toolchain is installed: an x86-64 process may still
// execute `int 0x80`, which enters the kernel's i386 system-call table with AUDIT_ARCH_I386.
func tinyELF(code func(dataAddr uint32) []byte, data []byte) []byte {
	const base = 0x400000
	const hdrs = 64 + 56
	codeLen := len(code(0))
	dataAddr := uint32(base + hdrs + codeLen)
	text := append(code(dataAddr), data...)
	total := uint64(hdrs + len(text))
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	w(uint16(2))           // ET_EXEC
	w(uint16(62))          // EM_X86_64
	w(uint32(1))           // EV_CURRENT
	w(uint64(base + hdrs)) // entry
	w(uint64(64))          // program header offset
	w(uint64(0))           // section header offset
	w(uint32(0))           // flags
	w(uint16(64))          // ELF header size
	w(uint16(56))          // program header size
	w(uint16(1))           // program headers
	w(uint16(0))           // section header size
	w(uint16(0))           // section headers
	w(uint16(0))           // section name table index
	w(uint32(1))           // PT_LOAD
	w(uint32(5))           // PF_R|PF_X
	w(uint64(0))           // offset
	w(uint64(base))        // vaddr
	w(uint64(base))        // paddr
	w(total)               // file size
	w(total)               // memory size
	w(uint64(0x1000))      // alignment
	b.Write(text)
	return b.Bytes()
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// int80ELF writes "int80\n" with the i386 write call through int 0x80 and exits with i386 exit(0).
func int80ELF() []byte {
	msg := []byte("int80\n")
	return tinyELF(func(addr uint32) []byte {
		return cat(
			[]byte{0xb8}, le32(4), // mov eax, 4 (i386 write)
			[]byte{0xbb}, le32(1), // mov ebx, 1
			[]byte{0xb9}, le32(addr), // mov ecx, msg
			[]byte{0xba}, le32(uint32(len(msg))), // mov edx, len
			[]byte{0xcd, 0x80},    // int 0x80
			[]byte{0xb8}, le32(1), // mov eax, 1 (i386 exit)
			[]byte{0x31, 0xdb}, // xor ebx, ebx
			[]byte{0xcd, 0x80}, // int 0x80
		)
	}, msg)
}

// x32ELF writes "x32\n" with the x32 write call (the native number with bit 30 set) and exits with the
// native exit(0).
func x32ELF() []byte {
	msg := []byte("x32\n")
	return tinyELF(func(addr uint32) []byte {
		return cat(
			[]byte{0xb8}, le32(0x40000001), // mov eax, x32 write
			[]byte{0xbf}, le32(1), // mov edi, 1
			[]byte{0xbe}, le32(addr), // mov esi, msg
			[]byte{0xba}, le32(uint32(len(msg))), // mov edx, len
			[]byte{0x0f, 0x05},     // syscall
			[]byte{0xb8}, le32(60), // mov eax, 60 (exit)
			[]byte{0x31, 0xff}, // xor edi, edi
			[]byte{0x0f, 0x05}, // syscall
		)
	}, msg)
}
