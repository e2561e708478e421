package agent

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkToolCall measures one call through the runtime: validation, policy, the two workspace
// snapshots, the tool and the audit append.
//
//	go test -run '^$' -bench ToolCall -benchtime 30x ./internal/agent
func BenchmarkToolCall(b *testing.B) {
	for _, c := range []struct {
		name string
		tool string
		args func(i int) any
		root bool
	}{
		{"read_file", "read_file", func(int) any { return map[string]string{"path": "a.txt"} }, false},
		{"write_file", "write_file", func(i int) any { return map[string]string{"path": "a.txt", "content": fmt.Sprint(i)} }, false},
		{"run_code_sh", "run_code", func(i int) any {
			return map[string]string{"language": "sh", "source": fmt.Sprintf("echo %d > b.txt", i)}
		}, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := newFixture(b, map[string]string{"default.yaml": "read: ['**']\nwrite: ['**']\nlanguages: [sh]\ndefault: auto\n"}, nil)
			if c.root {
				needRoot(b)
			}
			if err := f.ws.WriteFile("a.txt", []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				rec, err := f.rt.Call(context.Background(), "bench", call("c", c.tool, c.args(i)))
				if err != nil || rec.Result.IsError {
					b.Fatalf("%+v %v", rec, err)
				}
			}
		})
	}
}
