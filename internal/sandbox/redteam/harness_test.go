//go:build linux && (amd64 || arm64)

package redteam

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/sandbox"
)

// The harness's own pieces, tested without root.

func TestAttacksLoad(t *testing.T) {
	attacks, err := loadAttacks(attacksDir)
	if err != nil {
		t.Fatal(err)
	}
	langs, cats := map[string]int{}, map[string]int{}
	for _, a := range attacks {
		langs[a.Lang]++
		cats[a.Category]++
		if a.Category == "exhaustion" && a.Stop == "" {
			t.Errorf("%s: an exhaustion attack must name the limit that stops it", a.Name)
		}
		if a.Category == "exhaustion" && a.Control {
			t.Errorf("%s: an exhaustion attack must not run unsandboxed on the host", a.Name)
		}
	}
	if len(attacks) < 60 || len(langs) < 6 {
		t.Errorf("%d attacks in %d languages (%v); the suite needs at least 60 in 6", len(attacks), len(langs), langs)
	}
	for _, c := range categories {
		if cats[c] == 0 {
			t.Errorf("no attack in category %s", c)
		}
	}
}

func TestParseHeaderRejectsIncomplete(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.sh")
	if err := os.WriteFile(p, []byte("# attack: something\n# category: files\n# effect: e\necho\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var a attack
	if err := a.parseHeader(p); err == nil {
		t.Error("a header without via was accepted")
	}
	if err := os.WriteFile(p, []byte("# attack: a\n# category: nonsense\n# effect: e\n# via: v\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.parseHeader(p); err == nil {
		t.Error("an unknown category was accepted")
	}
}

func TestParseLimits(t *testing.T) {
	l, err := parseLimits("pids=24 memory=64MiB wall=3s cpu=1s filesize=2MiB")
	if err != nil {
		t.Fatal(err)
	}
	want := sandbox.Limits{Pids: 24, Memory: 64 << 20, Wall: 3 * time.Second, CPUTime: time.Second, FileSize: 2 << 20}
	if l != want {
		t.Errorf("parseLimits = %+v, want %+v", l, want)
	}
	for _, bad := range []string{"pids", "pids=x", "memory=1TB", "color=red"} {
		if _, err := parseLimits(bad); err == nil {
			t.Errorf("parseLimits(%q) accepted", bad)
		}
	}
}

func TestSnapshotSeesEveryChange(t *testing.T) {
	for name, change := range map[string]func(dir string) error{
		"content": func(dir string) error { return os.WriteFile(filepath.Join(dir, "f"), []byte("other"), 0o644) },
		"mtime": func(dir string) error {
			return os.Chtimes(filepath.Join(dir, "f"), time.Unix(1, 0), time.Unix(1, 0))
		},
		"mode":      func(dir string) error { return os.Chmod(filepath.Join(dir, "f"), 0o600) },
		"hard link": func(dir string) error { return os.Link(filepath.Join(dir, "f"), filepath.Join(t.TempDir(), "l")) },
		"deleted":   func(dir string) error { return os.Remove(filepath.Join(dir, "sub", "g")) },
		"created":   func(dir string) error { return os.WriteFile(filepath.Join(dir, "sub", "new"), nil, 0o644) },
		"symlink": func(dir string) error {
			if err := os.Remove(filepath.Join(dir, "link")); err != nil {
				return err
			}
			return os.Symlink("/etc/passwd", filepath.Join(dir, "link"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, writeFiles(dir, map[string]string{"f": "content", "sub/g": "g"}))
			must(t, os.Symlink("f", filepath.Join(dir, "link")))
			// A past mtime, so that a change within the clock's granularity is still seen.
			must(t, os.Chtimes(filepath.Join(dir, "f"), time.Unix(1e9, 0), time.Unix(1e9, 0)))
			before, err := snapshot(dir, filepath.Join(dir, "missing"))
			must(t, err)
			must(t, change(dir))
			after, err := snapshot(dir, filepath.Join(dir, "missing"))
			must(t, err)
			if d := diffSnapshots(before, after); len(d) == 0 {
				t.Errorf("the snapshot did not see the change")
			}
			if d := diffSnapshots(after, after); len(d) != 0 {
				t.Errorf("identical snapshots differ: %v", d)
			}
		})
	}
}

func TestOutcomeNamesFailures(t *testing.T) {
	a := &attack{Stop: sandbox.LimitPids}
	if got := outcome(a, nil, false, suiteLimits); !strings.Contains(got, "pids") {
		t.Errorf("outcome = %q", got)
	}
	if got := outcome(a, []string{"a | b"}, false, suiteLimits); !strings.HasPrefix(got, "**NOT BLOCKED**") || strings.Contains(got, "|") {
		t.Errorf("outcome of a failure = %q", got)
	}
}

func TestObserverJudge(t *testing.T) {
	lim := sandbox.Limits{Pids: 24, Memory: 64 << 20}
	for _, c := range []struct {
		name string
		stop sandbox.LimitKind
		o    observer
		ok   bool
	}{
		{"pids held at the limit", sandbox.LimitPids, observer{samples: 5, tasks: 24}, true},
		{"pids above the limit", sandbox.LimitPids, observer{samples: 5, tasks: 25}, false},
		{"nothing seen", sandbox.LimitPids, observer{}, false},
		{"memory held", sandbox.LimitMemory, observer{samples: 5, anon: 60 << 20}, true},
		{"tmpfs held", sandbox.LimitMemory, observer{samples: 5, tmp: 64 << 20}, true},
		{"memory above the limit", sandbox.LimitMemory, observer{samples: 5, anon: 65 << 20}, false},
		{"/dev/shm above the limit", sandbox.LimitMemory, observer{samples: 5, shm: 1 << 30}, false},
	} {
		if got := c.o.judge(c.stop, lim); (len(got) == 0) != c.ok {
			t.Errorf("%s: judge = %q, want ok %v", c.name, got, c.ok)
		}
	}
	a := &attack{Stop: sandbox.LimitMemory}
	if got := outcome(a, nil, true, lim); !strings.Contains(got, "RLIMIT_DATA") || !strings.Contains(got, "64 MiB") {
		t.Errorf("non-root outcome of a memory attack = %q", got)
	}
}
