package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fill writes n entries to a new log and returns its path.
func fill(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range n {
		exit := i % 3
		_, err := l.Append(Entry{
			Run: fmt.Sprintf("run-%d", i%2), Agent: []string{"writer", "critic"}[i%2], Tool: "run",
			Argv: []string{"sh", "-c", fmt.Sprintf("echo %d", i)}, Decision: "allow", ApprovedBy: "policy",
			Exit: &exit, DurationMS: int64(i), BytesIn: 10, BytesOut: int64(i * 7), Commit: strings.Repeat("a", 40),
			Args: json.RawMessage(`{"path": "x <y> & z"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func lines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(b, []byte("\n"))[:bytes.Count(b, []byte("\n"))]
}

func rewrite(t *testing.T, path string, ls [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(ls, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAppendVerifyShow(t *testing.T) {
	t.Parallel()
	path := fill(t, 6)
	rep, err := Verify(path)
	if err != nil || !rep.OK() || rep.Entries != 6 || !rep.HeadChecked {
		t.Fatalf("verify intact log: %+v, %v", rep, err)
	}
	// Reopen and continue the chain.
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if h := l.Head(); h.Seq != 6 || h.Hash != rep.Head.Hash {
		t.Errorf("reopened head %+v, verify head %+v", h, rep.Head)
	}
	e, err := l.Append(Entry{Kind: "grant", Agent: "writer", ApprovedBy: "ada"})
	if err != nil || e.Seq != 7 || e.Prev != rep.Head.Hash {
		t.Fatalf("append after reopen: %+v, %v", e, err)
	}
	l.Close()
	if rep, err := Verify(path); err != nil || !rep.OK() || rep.Entries != 7 {
		t.Fatalf("verify after reopen: %+v, %v", rep, err)
	}
	got, err := Show(path, Filter{Agent: "critic"})
	if err != nil || len(got) != 3 {
		t.Fatalf("show agent=critic: %d entries, %v", len(got), err)
	}
	for _, e := range got {
		if e.Agent != "critic" || e.Seq%2 != 0 {
			t.Errorf("filtered entry %+v", e)
		}
	}
	if got, _ := Show(path, Filter{Kind: "grant"}); len(got) != 1 || got[0].ApprovedBy != "ada" {
		t.Errorf("show kind=grant: %+v", got)
	}
	if got, _ := Show(path, Filter{Run: "run-0", Agent: "critic"}); len(got) != 0 {
		t.Errorf("contradictory filter matched %d", len(got))
	}
	if got, _ := Show(path, Filter{Until: time.Now().Add(-time.Hour)}); len(got) != 0 {
		t.Errorf("until an hour ago matched %d", len(got))
	}
	if got, _ := Show(path, Filter{Since: time.Now().Add(-time.Hour)}); len(got) != 7 {
		t.Errorf("since an hour ago matched %d", len(got))
	}
}

// TestTamperDetected: every kind of change to a stored log is found, at the right entry.
func TestTamperDetected(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(t *testing.T, path string)
		entry  int64
		torn   bool
	}{
		{"edit a byte", func(t *testing.T, path string) {
			ls := lines(t, path)
			ls[2] = bytes.Replace(ls[2], []byte("echo 2"), []byte("echo 9"), 1)
			rewrite(t, path, ls)
		}, 4, false},
		{"edit a number", func(t *testing.T, path string) {
			ls := lines(t, path)
			ls[1] = bytes.Replace(ls[1], []byte(`"bytes_out":7`), []byte(`"bytes_out":8`), 1)
			rewrite(t, path, ls)
		}, 3, false},
		{"edit whitespace only", func(t *testing.T, path string) {
			ls := lines(t, path)
			ls[3] = bytes.Replace(ls[3], []byte(`,"tool"`), []byte(`, "tool"`), 1)
			rewrite(t, path, ls)
		}, 4, false},
		{"delete a line", func(t *testing.T, path string) {
			ls := lines(t, path)
			rewrite(t, path, append(ls[:2:2], ls[3:]...))
		}, 3, false},
		{"delete the first line", func(t *testing.T, path string) {
			rewrite(t, path, lines(t, path)[1:])
		}, 1, false},
		{"swap two lines", func(t *testing.T, path string) {
			ls := lines(t, path)
			ls[1], ls[2] = ls[2], ls[1]
			rewrite(t, path, ls)
		}, 2, false},
		{"insert a forged line", func(t *testing.T, path string) {
			ls := lines(t, path)
			forged, _ := marshal(Entry{Seq: 3, Kind: "call", Prev: Hash(bytes.TrimSuffix(ls[1], []byte("\n")))})
			rewrite(t, path, append(ls[:2:2], append([][]byte{append(forged, '\n')}, ls[2:]...)...))
		}, 4, false},
		{"truncate the tail", func(t *testing.T, path string) {
			rewrite(t, path, lines(t, path)[:4])
		}, 5, false},
		{"truncate mid-line", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)-20], 0o600)
		}, 6, true},
		{"edit the last entry", func(t *testing.T, path string) {
			ls := lines(t, path)
			ls[5] = bytes.Replace(ls[5], []byte(`"exit":2`), []byte(`"exit":0`), 1)
			rewrite(t, path, ls)
		}, 6, false},
		{"recompute the chain after an edit, head unchanged", func(t *testing.T, path string) {
			// The forger edits entry 2 and recomputes every later Prev; only the head file catches it.
			var out [][]byte
			prev := ""
			for i, l := range lines(t, path) {
				var e Entry
				json.Unmarshal(l, &e)
				if i == 1 {
					e.Decision = "deny"
				}
				e.Prev = prev
				b, _ := marshal(e)
				prev = Hash(b)
				out = append(out, append(b, '\n'))
			}
			rewrite(t, path, out)
		}, 6, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := fill(t, 6)
			c.change(t, path)
			rep, err := Verify(path)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatalf("tampering not detected: %+v", rep)
			}
			if rep.Problem.Entry != c.entry || rep.Problem.Torn != c.torn {
				t.Errorf("problem %+v, want entry %d torn=%v", rep.Problem, c.entry, c.torn)
			}
			// A tampered log is not appended to (the last three cases only through the head file).
			if l, err := Open(path); err == nil {
				l.Close()
				t.Errorf("Open accepted a broken log")
			}
		})
	}
}

func TestTornLineRepair(t *testing.T) {
	t.Parallel()
	path := fill(t, 3)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":4,"time":"2026-`)
	f.Close()
	if _, err := Open(path); !errors.Is(err, ErrTorn) {
		t.Fatalf("open with a torn line: %v", err)
	}
	if _, err := Show(path, Filter{}); !errors.Is(err, ErrTorn) {
		t.Errorf("show with a torn line: %v", err)
	}
	saved, err := Repair(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(saved); err != nil || string(b) != `{"seq":4,"time":"2026-` {
		t.Errorf("saved tail %q, %v", b, err)
	}
	rep, err := Verify(path)
	if err != nil || !rep.OK() || rep.Entries != 3 {
		t.Fatalf("after repair: %+v, %v", rep, err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := l.Append(Entry{Kind: "note", Reason: "repaired"}); err != nil || e.Seq != 4 {
		t.Errorf("append after repair: %+v, %v", e, err)
	}
	l.Close()
	// Repair refuses damage that is not a torn line.
	ls := lines(t, path)
	ls[0], ls[1] = ls[1], ls[0]
	rewrite(t, path, ls)
	if _, err := Repair(path); err == nil {
		t.Error("repair of a reordered log succeeded")
	}
}

// TestConcurrentAppenders: two Logs on one file (as two processes would have) and several goroutines
// keep one unbroken chain.
func TestConcurrentAppenders(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if _, err := l.Append(Entry{Agent: fmt.Sprint(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	a.Close()
	b.Close()
	rep, err := Verify(path)
	if err != nil || !rep.OK() || rep.Entries != 100 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}

// TestCheckpoints: a head kept outside the log catches a forger who rewrites both the log and its head
// file, and a tail cut below the checkpoint.
func TestCheckpoints(t *testing.T) {
	t.Parallel()
	path := fill(t, 6)
	rep, err := Verify(path)
	if err != nil || !rep.OK() {
		t.Fatal(rep, err)
	}
	ls := lines(t, path)
	cp := Head{Seq: 4, Hash: Hash(bytes.TrimSuffix(ls[3], []byte("\n")))}
	if rep, err := Verify(path, cp); err != nil || !rep.OK() || rep.Checkpoints != 1 {
		t.Fatalf("intact log with a checkpoint: %+v, %v", rep, err)
	}
	// Forge entry 2, recompute the chain and rewrite the head file: only the checkpoint notices.
	var out [][]byte
	prev := ""
	for i, l := range ls {
		var e Entry
		json.Unmarshal(l, &e)
		if i == 1 {
			e.ApprovedBy = "nobody"
		}
		e.Prev = prev
		b, _ := marshal(e)
		prev = Hash(b)
		out = append(out, append(b, '\n'))
	}
	rewrite(t, path, out)
	if err := writeHead(HeadPath(path), Head{Seq: 6, Hash: prev}); err != nil {
		t.Fatal(err)
	}
	if rep, _ := Verify(path); !rep.OK() {
		t.Fatalf("a full forgery without a checkpoint should pass (that is the limit): %+v", rep.Problem)
	}
	rep, err = Verify(path, cp)
	if err != nil || rep.OK() || rep.Problem.Entry != 4 {
		t.Errorf("forgery with a checkpoint: %+v, %v", rep.Problem, err)
	}
	// Cut the tail below the checkpoint and rewrite the head to match.
	path2 := fill(t, 6)
	ls2 := lines(t, path2)
	cp2 := Head{Seq: 5, Hash: Hash(bytes.TrimSuffix(ls2[4], []byte("\n")))}
	rewrite(t, path2, ls2[:3])
	writeHead(HeadPath(path2), Head{Seq: 3, Hash: Hash(bytes.TrimSuffix(ls2[2], []byte("\n")))})
	if rep, err := Verify(path2, cp2); err != nil || rep.OK() || rep.Problem.Entry != 4 {
		t.Errorf("truncation below a checkpoint: %+v, %v", rep.Problem, err)
	}
	if _, err := ParseHead([]byte("x y")); err == nil {
		t.Error("malformed head parsed")
	}
}
