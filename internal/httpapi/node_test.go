package httpapi

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/llm"
)

// TestNodeClient runs testdata/node/client.mjs, which drives the server with the official openai npm
// package (6.x). It needs node and the package installed: `npm ci --prefix internal/httpapi/testdata/node`.
func TestNodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; skipping the Node SDK test")
	}
	dir := filepath.Join("testdata", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err != nil {
		t.Skip("the openai npm package is not installed; run: npm ci --prefix internal/httpapi/testdata/node")
	}
	emb := &fakeEmbedder{
		fakeModel: fakeModel{chat: scripted(contentTurn(), nil, nil)},
		embed: func(ctx context.Context, inputs []string) ([][]float32, int, error) {
			out := make([][]float32, len(inputs))
			for i, s := range inputs {
				out[i] = []float32{float32(len(s)), 0.5, -1}
			}
			return out, len(inputs), nil
		},
	}
	_, ts := newTestServer(t, Options{APIKeys: []string{"node-key"}}, map[string]llm.Model{
		"tiny":  &fakeModel{chat: scripted(contentTurn(), nil, nil)},
		"tools": &fakeModel{chat: scripted(toolTurn(), nil, nil)},
		"emb":   emb,
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs", ts.URL+"/v1", "node-key")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	t.Logf("node output:\n%s", out)
	if err != nil {
		t.Fatalf("node client failed: %v", err)
	}
}
