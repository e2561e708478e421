package uselite

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/fault"
)

// corruptDir builds a model directory in a temporary folder: symbolic links to the shared files,
// except those edit replaces (edit receives the directory and may write or remove files).
func corruptDir(t *testing.T, edit func(dir string)) string {
	t.Helper()
	src := modelDir(t)
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	edit(dir)
	return dir
}

// replace writes data as dir/name in place of its link.
func replace(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// editModel rewrites model.json through a generic JSON tree.
func editModel(t *testing.T, dir string, f func(m map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	replace(t, dir, ModelFile, out)
}

func nodes(m map[string]any) []any {
	return m["modelTopology"].(map[string]any)["node"].([]any)
}

func findNode(m map[string]any, op string) map[string]any {
	for _, n := range nodes(m) {
		if nd := n.(map[string]any); nd["op"] == op {
			return nd
		}
	}
	return nil
}

func weightsOf(m map[string]any) []any {
	return m["weightsManifest"].([]any)[0].(map[string]any)["weights"].([]any)
}

func TestLoadCorrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the model many times")
	}
	shard7 := "group1-shard7of7"
	readShard := func(t *testing.T) []byte {
		data, err := os.ReadFile(filepath.Join(modelDir(t), shard7))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	cases := []struct {
		name string
		edit func(t *testing.T, dir string)
		code fault.Code
		want string
	}{
		{"no model.json", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, ModelFile)) }, fault.NotFound, "model.json"},
		{"no vocab.json", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, VocabFile)) }, fault.NotFound, "vocab.json"},
		{"no shard", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "group1-shard3of7")) }, fault.NotFound, "group1-shard3of7"},
		{"model.json not JSON", func(t *testing.T, dir string) { replace(t, dir, ModelFile, []byte("{\"modelTopology\": [")) }, fault.Unprocessable, "model.json"},
		{"model.json empty object", func(t *testing.T, dir string) { replace(t, dir, ModelFile, []byte("{}")) }, fault.Unprocessable, "modelTopology"},
		{"truncated shard", func(t *testing.T, dir string) {
			data := readShard(t)
			replace(t, dir, shard7, data[:len(data)-10])
		}, fault.Unprocessable, "truncated"},
		{"empty shard", func(t *testing.T, dir string) { replace(t, dir, shard7, nil) }, fault.Unprocessable, "truncated"},
		{"oversized shard", func(t *testing.T, dir string) {
			replace(t, dir, shard7, append(readShard(t), 0, 0, 0, 0))
		}, fault.Unprocessable, "hold more than"},
		{"shard path escapes", func(t *testing.T, dir string) {
			editModel(t, dir, func(m map[string]any) {
				m["weightsManifest"].([]any)[0].(map[string]any)["paths"].([]any)[0] = "../group1-shard1of7"
			})
		}, fault.Unprocessable, "plain file name"},
		{"unknown op", func(t *testing.T, dir string) {
			editModel(t, dir, func(m map[string]any) { findNode(m, "Tanh")["op"] = "Erfinv" })
		}, fault.Unprocessable, `unsupported op "Erfinv"`},
		{"quantized weight", func(t *testing.T, dir string) {
			editModel(t, dir, func(m map[string]any) {
				weightsOf(m)[0].(map[string]any)["quantization"] = map[string]any{"dtype": "uint8"}
			})
		}, fault.Unprocessable, "quantized"},
		{"weight shape differs from const", func(t *testing.T, dir string) {
			editModel(t, dir, func(m map[string]any) {
				w := weightsOf(m)[0].(map[string]any)
				w["shape"] = []any{512, 1536}
				// Keep the byte count equal so the shape check, not the size check, fires.
			})
		}, fault.Unprocessable, "declares shape"},
		{"missing input node", func(t *testing.T, dir string) {
			editModel(t, dir, func(m map[string]any) { findNode(m, "Tanh")["input"] = []any{"nowhere"} })
		}, fault.Unprocessable, `"nowhere" is not a node`},
		{"cycle", func(t *testing.T, dir string) {
			editModel(t, dir, func(m map[string]any) {
				tanh := findNode(m, "Tanh")
				bias := tanh["input"].([]any)[0].(string)
				for _, n := range nodes(m) {
					if nd := n.(map[string]any); nd["name"] == bias {
						nd["input"].([]any)[0] = tanh["name"]
					}
				}
			})
		}, fault.Unprocessable, "cycle"},
		{"wrong arity", func(t *testing.T, dir string) {
			editModel(t, dir, func(m map[string]any) {
				tanh := findNode(m, "Tanh")
				tanh["input"] = append(tanh["input"].([]any), tanh["input"].([]any)[0])
			})
		}, fault.Unprocessable, "want 1"},
		{"strided conv", func(t *testing.T, dir string) {
			editModel(t, dir, func(m map[string]any) {
				findNode(m, "Conv2D")["attr"].(map[string]any)["strides"] = map[string]any{"list": map[string]any{"i": []any{"1", "2", "2", "1"}}}
			})
		}, fault.Unprocessable, "strides"},
		{"bad vocab", func(t *testing.T, dir string) { replace(t, dir, VocabFile, []byte(`[["a", "b"]]`)) }, fault.Unprocessable, "vocab.json"},
		{"short vocab", func(t *testing.T, dir string) { replace(t, dir, VocabFile, []byte(`[["a", 0]]`)) }, fault.Unprocessable, "vocab.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := corruptDir(t, func(dir string) { c.edit(t, dir) })
			m, err := Load(dir)
			if err == nil {
				t.Fatalf("Load succeeded (%v)", m != nil)
			}
			if got := fault.CodeOf(err); got != c.code {
				t.Errorf("code %q, want %q (%v)", got, c.code, err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

// TestLoadWrongShapeAtRun changes a reshape target so the graph fails while running: Load's trial
// run must report it as an error, not a panic.
func TestLoadWrongShapeAtRun(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the model")
	}
	dir := corruptDir(t, func(dir string) {
		editModel(t, dir, func(m map[string]any) {
			// Feed the final matrix product the un-pooled token states: the shapes no longer fit.
			for _, n := range nodes(m) {
				nd := n.(map[string]any)
				if nd["op"] == "MatMul" && strings.HasSuffix(nd["name"].(string), "tanh_layer_0/MatMul") {
					nd["input"].([]any)[0] = "module_apply_default/Encoder_en/KonaTransformer/Encode/Scatter/ScatterNd"
				}
			}
		})
	})
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	if !strings.Contains(err.Error(), "trial run") || fault.CodeOf(err) != fault.Unprocessable {
		t.Errorf("error %v (code %s), want an unprocessable trial-run error", err, fault.CodeOf(err))
	}
}
