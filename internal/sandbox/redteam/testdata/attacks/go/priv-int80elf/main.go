// attack: Go writes a tiny static x86-64 ELF (no toolchain needed) whose code makes i386 creat and exit calls through int 0x80, then executes it in place of itself
// category: privilege
// effect: no proof file; the process is killed by SIGSYS
// via: seccomp kills any call of a foreign architecture
// control: yes
// signal: SIGSYS
package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"syscall"
)

func main() {
	if runtime.GOARCH != "amd64" {
		return
	}
	const base, hdrs = 0x400000, 64 + 56
	path := []byte("PWNED-int80elf\x00")
	le := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	code := func(addr uint32) []byte {
		return bytes.Join([][]byte{
			{0xb8}, le(8), // mov eax, 8 (i386 creat)
			{0xbb}, le(addr), // mov ebx, path
			{0xb9}, le(0o644), // mov ecx, mode
			{0xcd, 0x80},  // int 0x80
			{0xb8}, le(1), // mov eax, 1 (i386 exit)
			{0x31, 0xdb}, // xor ebx, ebx
			{0xcd, 0x80},
		}, nil)
	}
	text := append(code(uint32(base+hdrs+len(code(0)))), path...)
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	w(uint16(2))
	w(uint16(62))
	w(uint32(1))
	w(uint64(base + hdrs))
	w(uint64(64))
	w(uint64(0))
	w(uint32(0))
	w(uint16(64))
	w(uint16(56))
	w(uint16(1))
	w(uint16(0))
	w(uint16(0))
	w(uint16(0))
	w(uint32(1))
	w(uint32(5))
	w(uint64(0))
	w(uint64(base))
	w(uint64(base))
	w(uint64(hdrs + len(text)))
	w(uint64(hdrs + len(text)))
	w(uint64(0x1000))
	b.Write(text)
	if err := os.WriteFile("int80.elf", b.Bytes(), 0o755); err != nil {
		return
	}
	syscall.Exec("./int80.elf", []string{"int80.elf", os.Getenv("RT_MARKER")}, nil)
}
