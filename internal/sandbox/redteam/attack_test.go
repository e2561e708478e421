//go:build linux && (amd64 || arm64)

package redteam

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/sandbox"
)

// attacksDir holds the attack programs: one file per attack for the interpreted languages and C, one
// folder (a main package) per attack for Go.
const attacksDir = "testdata/attacks"

// An attack is one program of the suite with the header that describes it. Every attack file starts
// with comment lines of the form "key: value" (after "#" or "//"):
//
//	attack:   what the program tries (required)
//	category: files, protected, secrets, network, proxy, outlive, ptrace, exhaustion or privilege (required)
//	effect:   what the harness checks from the host, in words, for the results table (required)
//	via:      which part of the sandbox is meant to stop it, for the results table (required)
//	stop:     the limit that must end it (exhaustion attacks): pids, memory, cpu, wall, filesize
//	limits:   limits for this attack, e.g. "pids=24 memory=64MiB wall=3s cpu=1s filesize=1MiB"
//	signal:   the signal that must end it, e.g. SIGSYS
//	control:  yes when the attack is safe to run unsandboxed on the host (as uid 65534, against a
//	          throwaway fixture), where it must succeed: the positive control showing that the attack
//	          works and that the harness's checks can fail
//
// The harness applies every host-side check to every attack, whatever its category; the header only
// adds expectations (a limit, a signal) and the words of the table.
type attack struct {
	Name, Lang, Path string
	Title, Category  string
	Effect, Via      string
	Stop             sandbox.LimitKind
	Signal           string
	Limits           sandbox.Limits
	Control          bool
}

// languages maps a file extension to its language and interpreter (empty: compiled on the host).
var languages = map[string]struct{ lang, interp string }{
	".sh":   {"sh", "/bin/sh"},
	".bash": {"bash", "/bin/bash"},
	".py":   {"python3", "/usr/bin/python3"},
	".pl":   {"perl", "/usr/bin/perl"},
	".js":   {"node", "/usr/bin/node"},
	".c":    {"c", ""},
}

var categories = []string{"files", "protected", "secrets", "network", "proxy", "outlive", "ptrace", "exhaustion", "privilege"}

// loadAttacks reads every attack under dir, sorted by category then name.
func loadAttacks(dir string) ([]*attack, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*attack
	for _, e := range ents {
		var a *attack
		switch {
		case e.IsDir() && e.Name() == "go":
			gos, err := os.ReadDir(filepath.Join(dir, "go"))
			if err != nil {
				return nil, err
			}
			for _, g := range gos {
				if !g.IsDir() {
					continue
				}
				a = &attack{Name: g.Name() + ".go", Lang: "go", Path: filepath.Join(dir, "go", g.Name())}
				if err := a.parseHeader(filepath.Join(a.Path, "main.go")); err != nil {
					return nil, err
				}
				out = append(out, a)
			}
			continue
		case e.IsDir():
			continue
		}
		ext := filepath.Ext(e.Name())
		l, ok := languages[ext]
		if !ok {
			return nil, fmt.Errorf("%s: unknown attack language %q", e.Name(), ext)
		}
		a = &attack{Name: e.Name(), Lang: l.lang, Path: filepath.Join(dir, e.Name())}
		if err := a.parseHeader(a.Path); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	rank := func(c string) int {
		for i, x := range categories {
			if x == c {
				return i
			}
		}
		return len(categories)
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank(out[i].Category), rank(out[j].Category); ri != rj {
			return ri < rj
		}
		return out[i].Name < out[j].Name
	})
	seen := map[string]bool{}
	for _, a := range out {
		if seen[a.Name] {
			return nil, fmt.Errorf("two attacks named %q", a.Name)
		}
		seen[a.Name] = true
	}
	return out, nil
}

// parseHeader reads the "key: value" comment lines at the top of an attack file.
func (a *attack) parseHeader(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan() && n < 25; n++ {
		line := strings.TrimSpace(sc.Text())
		var rest string
		switch {
		case strings.HasPrefix(line, "#!"):
			continue
		case strings.HasPrefix(line, "//"):
			rest = strings.TrimSpace(strings.TrimPrefix(line, "//"))
		case strings.HasPrefix(line, "#"):
			rest = strings.TrimSpace(strings.TrimPrefix(line, "#"))
		default:
			continue
		}
		key, val, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "attack":
			a.Title = val
		case "category":
			a.Category = val
		case "effect":
			a.Effect = val
		case "via":
			a.Via = val
		case "stop":
			a.Stop = sandbox.LimitKind(val)
		case "signal":
			a.Signal = val
		case "control":
			a.Control = val == "yes"
		case "limits":
			if a.Limits, err = parseLimits(val); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
		}
	}
	if a.Title == "" || a.Effect == "" || a.Via == "" || unknownCategory(a.Category) {
		return fmt.Errorf("%s: header needs attack, category (one of %v), effect and via lines", file, categories)
	}
	return sc.Err()
}

// unknownCategory reports whether c is not one of categories.
func unknownCategory(c string) bool {
	for _, x := range categories {
		if x == c {
			return false
		}
	}
	return true
}

// parseLimits reads "pids=24 memory=64MiB wall=3s cpu=1s filesize=1MiB".
func parseLimits(s string) (sandbox.Limits, error) {
	var l sandbox.Limits
	for _, f := range strings.Fields(s) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return l, fmt.Errorf("limit %q: want key=value", f)
		}
		var err error
		switch k {
		case "pids":
			l.Pids, err = strconv.Atoi(v)
		case "memory":
			l.Memory, err = parseSize(v)
		case "filesize":
			l.FileSize, err = parseSize(v)
		case "wall":
			l.Wall, err = time.ParseDuration(v)
		case "cpu":
			l.CPUTime, err = time.ParseDuration(v)
		default:
			err = fmt.Errorf("unknown limit")
		}
		if err != nil {
			return l, fmt.Errorf("limit %q: %w", f, err)
		}
	}
	return l, nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

// builds holds the host-compiled attack binaries.
type builds struct {
	dir string
}

// buildAll compiles the C attacks with gcc and the Go attacks with CGO_ENABLED=0 go build, on the
// host, into dir. The setuid helper in testdata/helpers is compiled too.
func buildAll(dir string, attacks []*attack) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
		sem  = make(chan struct{}, 2)
	)
	gcc := func(name, src string) {
		defer wg.Done()
		sem <- struct{}{}
		defer func() { <-sem }()
		out, err := exec.Command("gcc", "-O1", "-o", filepath.Join(dir, name), src).CombinedOutput()
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Sprintf("gcc %s: %v\n%s", src, err, out))
			mu.Unlock()
		}
	}
	var goPkgs []string
	for _, a := range attacks {
		switch a.Lang {
		case "c":
			wg.Add(1)
			go gcc(a.Name, a.Path)
		case "go":
			goPkgs = append(goPkgs, "./"+a.Path)
		}
	}
	wg.Add(1)
	go gcc("suid-helper", "testdata/helpers/suid-helper.c")
	if len(goPkgs) > 0 {
		goDir := filepath.Join(dir, "go")
		if err := os.Mkdir(goDir, 0o755); err != nil {
			return err
		}
		cmd := exec.Command("go", append([]string{"build", "-o", goDir + "/"}, goPkgs...)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			errs = append(errs, fmt.Sprintf("go build: %v\n%s", err, out))
		}
		// go build names each binary after its folder; the attack's name adds ".go".
		for _, a := range attacks {
			if a.Lang == "go" {
				if err := os.Rename(filepath.Join(goDir, filepath.Base(a.Path)), filepath.Join(dir, a.Name)); err != nil {
					errs = append(errs, err.Error())
				}
			}
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("building the attacks:\n%s", strings.Join(errs, "\n"))
	}
	return nil
}

// program puts the attack into the workspace ws and returns its argv (the marker last, so every
// process of the attack carries it in its command line) and the size of the source.
func (a *attack) program(ws, binDir, marker string) ([]string, int64, error) {
	if a.Lang == "c" || a.Lang == "go" {
		b, err := os.ReadFile(filepath.Join(binDir, a.Name))
		if err != nil {
			return nil, 0, err
		}
		dst := filepath.Join(ws, "attack")
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			return nil, 0, err
		}
		src := a.Path
		if a.Lang == "go" {
			src = filepath.Join(a.Path, "main.go")
		}
		st, err := os.Stat(src)
		if err != nil {
			return nil, 0, err
		}
		return []string{dst, marker}, st.Size(), nil
	}
	src, err := os.ReadFile(a.Path)
	if err != nil {
		return nil, 0, err
	}
	ext := filepath.Ext(a.Path)
	dst := filepath.Join(ws, "attack"+ext)
	if err := os.WriteFile(dst, src, 0o644); err != nil {
		return nil, 0, err
	}
	return []string{languages[ext].interp, dst, marker}, int64(len(src)), nil
}
