package memory

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/seance-dev/seance/internal/testenv"
)

// BenchmarkExtractRules extracts the graph of SciFact's first 500 abstracts per iteration.
func BenchmarkExtractRules(b *testing.B) {
	f, err := os.Open(filepath.Join(testenv.Shared(b, "evals", "scifact"), "corpus.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() && len(texts) < 500 {
		var d struct{ Title, Text string }
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			b.Fatal(err)
		}
		texts = append(texts, "# "+d.Title+"\n\n"+d.Text)
	}
	b.ResetTimer()
	for range b.N {
		for _, t := range texts {
			ExtractRules(t)
		}
	}
}
