package audit

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerify: Verify and Show never panic on arbitrary files, and Verify never calls a file intact
// unless every line re-encodes to itself and chains.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"seq":1,"time":"2026-01-01T00:00:00Z","kind":"call","prev":""}` + "\n"))
	f.Add([]byte("{\n"))
	f.Add([]byte(""))
	f.Add([]byte(`{"seq":2,"time":"2026-01-01T00:00:00Z","kind":"call","prev":"x"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "audit.log")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(path)
		if err != nil {
			return
		}
		Show(path, Filter{})
		if rep.OK() {
			// An intact log can be opened and extended, and stays intact.
			l, err := Open(path)
			if err != nil {
				t.Fatalf("verify ok but open failed: %v", err)
			}
			defer l.Close()
			if _, err := l.Append(Entry{Kind: "x"}); err != nil {
				t.Fatal(err)
			}
			if rep2, err := Verify(path); err != nil || !rep2.OK() || rep2.Entries != rep.Entries+1 {
				t.Fatalf("after append: %+v, %v", rep2, err)
			}
		}
	})
}
