//go:build linux && (amd64 || arm64)

package redteam

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/seance-dev/seance/internal/sandbox"
	"github.com/seance-dev/seance/internal/workspace"
)

const uid, gid = sandbox.DefaultUID, sandbox.DefaultGID

// parentSecretEnv names the environment variable TestMain sets in the test process: no attack may
// read its value (it is in the parent's environment only).
const parentSecretEnv = "SEANCE_REDTEAM_PARENT_SECRET"

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// chownTree gives a host tree to the sandbox's uid, so that file permissions would allow every attack
// and only the sandbox stands between it and the files.
func chownTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// openTree gives a tree to root (when toRoot) with permissions that let anyone write it.
func openTree(root string, toRoot bool) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if toRoot {
			if err := os.Lchown(p, 0, 0); err != nil {
				return err
			}
		}
		switch {
		case d.IsDir():
			return os.Chmod(p, 0o777)
		case d.Type().IsRegular():
			return os.Chmod(p, 0o666)
		}
		return nil
	})
}

// writeFiles creates files (path relative to root -> content); a name ending in "/" is a folder.
func writeFiles(root string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(root, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fixture is the host state planted for one attack: a workspace with a .git, a folder visible
// read-only ("outside"), a folder not visible at all ("hidden"), and the listeners the attack may try
// to reach.
type fixture struct {
	base, ws, outside, hidden string
	home                      string // the seance home the attack is told about
	marker                    string
	baseNames                 []string
	victim, hiddenVictim      string
	suidWS, suidOut           string
	// preexisting records the workspace entries the harness put there, with their owners.
	preexisting map[string]bool

	net *listeners
}

// newFixture plants the files for attack name under base. suidHelper is the host-compiled helper
// copied setuid-root into the workspace and the outside folder. kind ("x" for a sandboxed run, "c" for
// a control run on the host) keeps the markers of the two runs of one attack apart. sharedSUID is
// set when the harness is not root (TestRedTeamNonRoot): it cannot make files root's, so the .git
// stays the harness's own, the workspace copy of the helper is a plain one (as root it loses its
// setuid bit to the run tool's hand-over anyway) and the outside copy is sharedSUID, a setuid-root
// helper the root half planted.
func newFixture(base, name, kind, home, suidHelper, sharedSUID string) (*fixture, error) {
	fx := &fixture{
		base:    base,
		ws:      filepath.Join(base, "ws"),
		outside: filepath.Join(base, "outside"),
		hidden:  filepath.Join(base, "hidden"),
		home:    home,
		marker:  fmt.Sprintf("rtmark%d%s%sz", os.Getpid(), kind, strings.NewReplacer("-", "", ".", "").Replace(name)),
	}
	fx.victim = filepath.Join(fx.outside, "victim.txt")
	fx.hiddenVictim = filepath.Join(fx.hidden, "victim.txt")
	if err := writeFiles(fx.ws, map[string]string{
		"README.md": "workspace of " + name + "\n",
	}); err != nil {
		return nil, err
	}
	// A real seance workspace: a git repository with its first commit, as the tool runtime needs.
	if _, err := workspace.Create(context.Background(), fx.ws, workspace.Options{}); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(fx.ws, ".git", "hooks"), 0o755); err != nil {
		return nil, err
	}
	if err := writeFiles(fx.outside, map[string]string{
		"victim.txt":         "original victim of " + name + "\n",
		"tree/leaf.txt":      "leaf\n",
		"tree/sub/deep.txt":  "deep\n",
		"empty-dir/":         "",
		"tree/sub/other.txt": "other\n",
	}); err != nil {
		return nil, err
	}
	if err := writeFiles(fx.hidden, map[string]string{
		"victim.txt": "hidden victim of " + name + "\n",
		"tree/a.txt": "a\n",
	}); err != nil {
		return nil, err
	}
	for _, d := range []string{fx.ws, fx.outside, fx.hidden} {
		if err := chownTree(d); err != nil {
			return nil, err
		}
	}
	// The .git stays root's (git, run by the runtime as root, refuses a repository another uid owns)
	// but is open to everyone, so that file permissions would allow every attack on it and only the
	// sandbox stands in the way.
	if err := openTree(filepath.Join(fx.ws, ".git"), sharedSUID == ""); err != nil {
		return nil, err
	}
	// A setuid-root program where the sandbox can see (and, in the workspace, execute) it.
	helper, err := os.ReadFile(suidHelper)
	if err != nil {
		return nil, err
	}
	fx.suidWS = filepath.Join(fx.ws, "suid-helper")
	fx.suidOut = filepath.Join(fx.outside, "suid-helper")
	copies := []string{fx.suidWS, fx.suidOut}
	if sharedSUID != "" {
		copies = nil
		if err := os.WriteFile(fx.suidWS, helper, 0o755); err != nil {
			return nil, err
		}
		fx.suidOut = sharedSUID
	}
	for _, p := range copies {
		if err := os.WriteFile(p, helper, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(p, 0, 0); err != nil {
			return nil, err
		}
		if err := os.Chmod(p, 0o4755|os.ModeSetuid); err != nil {
			return nil, err
		}
	}
	ents, err := os.ReadDir(base)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		fx.baseNames = append(fx.baseNames, e.Name())
	}
	return fx, nil
}

// recordWorkspace notes what the harness itself put in the workspace.
func (fx *fixture) recordWorkspace() error {
	fx.preexisting = map[string]bool{}
	return filepath.WalkDir(fx.ws, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fx.preexisting[p] = true
		return nil
	})
}

// env is the environment of the attack: where the planted things are. Knowing the paths is fair:
// an attacker can guess them; the sandbox must hold anyway.
func (fx *fixture) env(s *suite) []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=/tmp",
		"RT_WS=" + fx.ws,
		"RT_OUTSIDE=" + fx.outside,
		"RT_VICTIM=" + fx.victim,
		"RT_HIDDEN=" + fx.hidden,
		"RT_HIDDEN_VICTIM=" + fx.hiddenVictim,
		"RT_HIDDEN_SECRET=" + filepath.Join(fx.hidden, "secret.txt"),
		"RT_HOME=" + fx.home,
		"RT_POLICY=" + filepath.Join(fx.home, "policy"),
		"RT_AUDIT=" + filepath.Join(fx.home, "audit.log"),
		"RT_HOST_SECRET=" + s.hostSecretPath,
		"RT_SECRET_ENV=" + parentSecretEnv,
		"RT_TCP=" + strconv.Itoa(fx.net.tcpPort),
		"RT_TCP6=" + strconv.Itoa(fx.net.tcp6Port),
		"RT_UDP=" + strconv.Itoa(fx.net.udpPort),
		"RT_UNIX=" + fx.net.unixPath,
		"RT_ABSTRACT=" + strings.TrimPrefix(fx.net.abstract, "@"),
		"RT_MARKER=" + fx.marker,
		"RT_SUID=" + fx.suidWS,
		"RT_SUID_OUT=" + fx.suidOut,
		"RT_PARENT_PID=" + strconv.Itoa(os.Getpid()),
		"RT_ALLOWED=" + s.allowed.addr,
	}
}

// listeners are the host endpoints an attack may try to reach; each records what reached it.
type listeners struct {
	tcpPort, tcp6Port, udpPort int
	unixPath, abstract         string

	mu      sync.Mutex
	hits    []string
	closers []io.Closer
	wg      sync.WaitGroup
}

func (l *listeners) hit(format string, args ...any) {
	l.mu.Lock()
	l.hits = append(l.hits, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

// Hits returns what reached the listeners.
func (l *listeners) Hits() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.hits...)
}

// listen opens a TCP listener on 127.0.0.1 (and ::1 when the host has it), a UDP socket on 127.0.0.1,
// a Unix socket at a path inside the workspace (so the sandbox sees the file and only the refusal of
// Unix sockets stops a connection) and an abstract Unix socket.
func (fx *fixture) listen() error {
	l := &listeners{
		unixPath: filepath.Join(fx.ws, "host.sock"),
		abstract: "@" + fx.marker,
	}
	fx.net = l
	accept := func(kind string, ln net.Listener) {
		l.closers = append(l.closers, ln)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				buf := make([]byte, 64)
				n, _ := c.Read(buf)
				c.Close()
				l.hit("%s connection (%q)", kind, buf[:n])
			}
		}()
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	l.tcpPort = ln.Addr().(*net.TCPAddr).Port
	accept("tcp 127.0.0.1", ln)
	if ln6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		l.tcp6Port = ln6.Addr().(*net.TCPAddr).Port
		accept("tcp ::1", ln6)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	l.udpPort = pc.LocalAddr().(*net.UDPAddr).Port
	l.closers = append(l.closers, pc)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		buf := make([]byte, 512)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			l.hit("udp packet (%q)", buf[:min(n, 64)])
		}
	}()
	uln, err := net.Listen("unix", l.unixPath)
	if err != nil {
		return err
	}
	if err := os.Chmod(l.unixPath, 0o777); err != nil {
		return err
	}
	accept("unix path", uln)
	aln, err := net.Listen("unix", l.abstract)
	if err != nil {
		return err
	}
	accept("unix abstract", aln)
	return nil
}

// close stops the listeners and waits for their goroutines.
func (l *listeners) close() {
	for _, c := range l.closers {
		c.Close()
	}
	l.wg.Wait()
}

// fileState is what the harness compares before and after an attack.
type fileState struct {
	mode     fs.FileMode
	uid, gid uint32
	nlink    uint64 // a hard link made anywhere changes it
	size     int64
	mtime    time.Time
	hash     string // content of a regular file, target of a symbolic link
}

// snapshot records every entry under the roots (without following symbolic links). A missing root
// is recorded as missing.
func snapshot(roots ...string) (map[string]fileState, error) {
	out := map[string]fileState{}
	for _, root := range roots {
		if _, err := os.Lstat(root); os.IsNotExist(err) {
			out[root] = fileState{hash: "missing"}
			continue
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			st, err := os.Lstat(p)
			if err != nil {
				return err
			}
			fsx := fileState{mode: st.Mode(), size: st.Size(), mtime: st.ModTime()}
			fsx.uid, fsx.gid = owner(st)
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				fsx.nlink = uint64(sys.Nlink)
			}
			switch {
			case st.Mode().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				h := sha256.Sum256(b)
				fsx.hash = hex.EncodeToString(h[:])
			case st.Mode()&fs.ModeSymlink != 0:
				fsx.hash, _ = os.Readlink(p)
			}
			out[p] = fsx
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// diffSnapshots lists what changed between two snapshots.
func diffSnapshots(before, after map[string]fileState) []string {
	var d []string
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			d = append(d, "deleted: "+p)
		case a != b:
			d = append(d, fmt.Sprintf("changed: %s (%v %d:%d %d links %d bytes %s -> %v %d:%d %d links %d bytes %s)", p,
				b.mode, b.uid, b.gid, b.nlink, b.size, b.mtime.Format(time.RFC3339Nano), a.mode, a.uid, a.gid, a.nlink, a.size, a.mtime.Format(time.RFC3339Nano)))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			d = append(d, "created: "+p)
		}
	}
	sort.Strings(d)
	return d
}

// workspaceFile is one regular file found in the workspace after an attack.
type workspaceFile struct {
	path     string
	mode     fs.FileMode
	uid, gid uint32
	size     int64
	new      bool
}

// scanWorkspace lists the workspace's entries without following symbolic links, and returns the
// concatenated names and contents (up to limit bytes per file) for the secret search.
func (fx *fixture) scanWorkspace(limit int64) ([]workspaceFile, []byte, error) {
	var files []workspaceFile
	var all bytes.Buffer
	err := filepath.WalkDir(fx.ws, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == filepath.Join(fx.ws, ".git") {
			return filepath.SkipDir
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		u, g := owner(st)
		all.WriteString(p + "\n")
		if st.Mode()&fs.ModeSymlink != 0 {
			t, _ := os.Readlink(p)
			all.WriteString(t + "\n")
		}
		files = append(files, workspaceFile{path: p, mode: st.Mode(), uid: u, gid: g, size: st.Size(), new: !fx.preexisting[p]})
		if !st.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(&all, io.LimitReader(f, limit))
		all.WriteByte('\n')
		return err
	})
	return files, all.Bytes(), err
}

// owner returns the uid and gid of a file.
func owner(st fs.FileInfo) (uint32, uint32) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Uid, sys.Gid
	}
	return 0, 0
}
