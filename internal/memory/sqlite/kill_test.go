package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/memorytest"
)

// Environment of the re-executed test binary in TestKillDuringIngest.
const (
	helperMarker = "SEANCE_MEMORY_TEST_HELPER"
	helperDB     = "SEANCE_MEMORY_TEST_DB"
	helperCorpus = "SEANCE_MEMORY_TEST_CORPUS"
)

// TestHelperIngest is not a test: it is the child process of TestKillDuringIngest, which runs this
// test binary again with helperMarker set. It ingests the corpus and prints one line per file.
func TestHelperIngest(t *testing.T) {
	if os.Getenv(helperMarker) != "1" {
		t.Skip("helper process for TestKillDuringIngest")
	}
	ctx := context.Background()
	s, err := Open(ctx, os.Getenv(helperDB))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	_, err = memory.Ingest(ctx, s, []string{os.Getenv(helperCorpus)}, memory.Options{
		BatchChunks: 40,
		Progress:    func(p memory.Progress) { fmt.Println(p.Action, p.Path) },
	})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// writeCorpus generates the shared test corpus (memorytest.WriteCorpus).
func writeCorpus(t testing.TB, dir string, n int, seed uint64) {
	t.Helper()
	memorytest.WriteCorpus(t, dir, n, seed)
}

// TestKillDuringIngest ingests a generated corpus in a child process, SIGKILLs it mid-way, checks
// that the store is consistent, and resumes the ingest to completion.
func TestKillDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process over a 1500-file corpus")
	}
	const files = 1500
	corpus, db := t.TempDir(), filepath.Join(t.TempDir(), "memory.db")
	writeCorpus(t, corpus, files, 7)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperIngest$")
	cmd.Env = []string{helperMarker + "=1", helperDB + "=" + db, helperCorpus + "=" + corpus}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	reported := 0
	deadline := time.Now().Add(2 * time.Minute)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
		if strings.HasPrefix(line, memory.Added+" ") {
			reported++
		}
		if reported >= files/3 || time.Now().After(deadline) {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	go func() { // drain so the child never blocks on a full pipe before it dies
		for sc.Scan() {
		}
	}()
	werr := cmd.Wait()
	if reported == 0 || reported >= files {
		t.Fatalf("child reported %d of %d files before the kill (wait: %v)", reported, files, werr)
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed mid-way: %v", werr)
	}

	ctx := context.Background()
	s, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("store after kill -9: %v", err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sources < int64(reported) || st.Sources >= files {
		t.Fatalf("after the kill the store has %d sources; the child reported %d committed of %d", st.Sources, reported, files)
	}
	t.Logf("killed after %d files reported, %d stored; resuming", reported, st.Sources)
	rep, err := memory.Ingest(ctx, s, []string{corpus}, memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if int64(rep.Unchanged) != st.Sources || rep.Added != files-int(st.Sources) || len(rep.Skipped) != 0 {
		t.Fatalf("resume: %d unchanged, %d added, %d skipped; want %d unchanged and %d added", rep.Unchanged, rep.Added,
			len(rep.Skipped), st.Sources, files-int(st.Sources))
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("store after resume: %v", err)
	}
	hits, err := s.LookupExact(ctx, "serial1499-1", 5)
	if err != nil || len(hits) != 1 {
		t.Fatalf("lookup of the last file's marker: %d hits, %v", len(hits), err)
	}
}
