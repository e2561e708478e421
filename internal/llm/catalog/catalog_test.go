package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/llm"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFind(t *testing.T) {
	tmp := t.TempDir()
	models := filepath.Join(tmp, "models")
	write(t, filepath.Join(models, "a.gguf"), "GGUF-a")
	write(t, filepath.Join(models, "sub", "b.GGUF"), "GGUF-b")
	write(t, filepath.Join(models, "notes.txt"), "not a model")
	write(t, filepath.Join(models, ".hidden", "c.gguf"), "hidden")

	ollama := filepath.Join(tmp, "ollama")
	write(t, filepath.Join(ollama, "blobs", "sha256-abc123"), "GGUF-ollama")
	write(t, filepath.Join(ollama, "manifests", "registry.ollama.ai", "library", "qwen2.5", "0.5b"),
		`{"layers":[{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:zzz"},
		{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:abc123","size":11}]}`)
	write(t, filepath.Join(ollama, "manifests", "registry.ollama.ai", "library", "broken", "latest"), `{not json`)
	write(t, filepath.Join(ollama, "manifests", "registry.ollama.ai", "library", "missingblob", "latest"),
		`{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:def"}]}`)
	write(t, filepath.Join(ollama, "manifests", "registry.ollama.ai", "library", "evil", "latest"),
		`{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:../../x"}]}`)

	hf := filepath.Join(tmp, "hf")
	blob := filepath.Join(hf, "models--HuggingFaceTB--SmolLM2-135M-Instruct-GGUF", "blobs", "0123")
	write(t, blob, "GGUF-hf")
	snap := filepath.Join(hf, "models--HuggingFaceTB--SmolLM2-135M-Instruct-GGUF", "snapshots", "rev1")
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../blobs/0123", filepath.Join(snap, "smollm2-135m-instruct-q8_0.gguf")); err != nil {
		t.Fatal(err)
	}

	inspected := 0
	got, err := Find(Options{
		Dirs:             []string{models, filepath.Join(tmp, "does-not-exist")},
		OllamaDir:        ollama,
		HuggingFaceCache: hf,
		Inspect: func(path string, info *llm.Info) error {
			inspected++
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if string(data) == "GGUF-b" {
				return errors.New("corrupt")
			}
			info.Architecture = "llama"
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ id, source, path, err, arch string }
	want := []row{
		{"a", "folder", filepath.Join(models, "a.gguf"), "", "llama"},
		{"sub/b", "folder", filepath.Join(models, "sub", "b.GGUF"), "corrupt", ""},
		{"HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q8_0.gguf", "huggingface",
			filepath.Join(snap, "smollm2-135m-instruct-q8_0.gguf"), "", "llama"},
		{"broken:latest", "ollama", "", "manifest is not valid JSON", ""},
		{"qwen2.5:0.5b", "ollama", filepath.Join(ollama, "blobs", "sha256-abc123"), "", "llama"},
	}
	if len(got) != len(want) {
		for _, g := range got {
			t.Logf("got %+v", g)
		}
		t.Fatalf("found %d models, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.id || g.Source != w.source {
			t.Errorf("[%d] = %s/%s, want %s/%s", i, g.ID, g.Source, w.id, w.source)
		}
		if w.path != "" && g.Path != w.path {
			t.Errorf("[%d] path %s, want %s", i, g.Path, w.path)
		}
		if w.err == "" && g.Err != "" || w.err != "" && !contains(g.Err, w.err) {
			t.Errorf("[%d] err %q, want %q", i, g.Err, w.err)
		}
		if g.Architecture != w.arch {
			t.Errorf("[%d] arch %q, want %q", i, g.Architecture, w.arch)
		}
		if w.path != "" && g.URL != "gguf:"+w.path {
			t.Errorf("[%d] URL %q", i, g.URL)
		}
	}
	if got[0].Size != int64(len("GGUF-a")) {
		t.Errorf("size %d", got[0].Size)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestOllamaName(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"registry.ollama.ai", "library", "llama3.2", "1b"}, "llama3.2:1b"},
		{[]string{"registry.ollama.ai", "user", "m", "latest"}, "user/m:latest"},
		{[]string{"hf.co", "org", "m", "q8"}, "hf.co/org/m:q8"},
	} {
		if got := ollamaName(c.in); got != c.want {
			t.Errorf("ollamaName(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
