package llama2c

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/engine/gguf"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/testenv"
)

// sharedDir returns the shared test data folder (see internal/testenv).
func sharedDir(t *testing.T) string {
	t.Helper()
	return testenv.Shared(t, "models", "stories260K")
}

// TestConvertMatchesReference converts the published llama2.c files and checks every tensor and the
// vocabulary against the GGUF llama.cpp's converter made from the same files.
func TestConvertMatchesReference(t *testing.T) {
	dir := sharedDir(t)
	ckpt, err := os.ReadFile(filepath.Join(dir, "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "converted.gguf")
	var buf bytes.Buffer
	if err := Convert(&buf, ckpt, tok, "stories260K"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	want, err := gguf.Open(filepath.Join(dir, "stories260K-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()

	for _, wt := range want.Tensors {
		if wt.Name == "output.weight" {
			// The reference stores a copy of the shared classifier; the conversion ties it.
			if _, ok := got.Tensor("output.weight"); ok {
				t.Errorf("shared classifier written twice")
			}
			emb, _ := want.Tensor("token_embd.weight")
			if !bytes.Equal(want.TensorData(wt), want.TensorData(emb)) {
				t.Errorf("reference output.weight is not the embedding; the tie assumption is wrong")
			}
			continue
		}
		gt, ok := got.Tensor(wt.Name)
		if !ok {
			t.Errorf("tensor %s missing", wt.Name)
			continue
		}
		if !slices.Equal(gt.Dims, wt.Dims) || gt.Type != wt.Type {
			t.Errorf("%s: dims %v type %v, want %v %v", wt.Name, gt.Dims, gt.Type, wt.Dims, wt.Type)
		}
		if !bytes.Equal(got.TensorData(gt), want.TensorData(wt)) {
			t.Errorf("%s: data differs", wt.Name)
		}
	}
	for _, key := range []string{"tokenizer.ggml.tokens"} {
		g, _ := got.Strings(key)
		w, _ := want.Strings(key)
		if !slices.Equal(g, w) {
			t.Errorf("%s differ", key)
		}
	}
	gs, _ := got.Float32s("tokenizer.ggml.scores")
	ws, _ := want.Float32s("tokenizer.ggml.scores")
	if !slices.Equal(gs, ws) {
		t.Errorf("scores differ")
	}
	gty, _ := got.Int32s("tokenizer.ggml.token_type")
	wty, _ := want.Int32s("tokenizer.ggml.token_type")
	if !slices.Equal(gty, wty) {
		t.Errorf("token types differ")
	}
	for _, key := range []string{"llama.embedding_length", "llama.feed_forward_length", "llama.block_count",
		"llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.dimension_count",
		"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"} {
		g, _ := got.Uint(key)
		w, _ := want.Uint(key)
		if g != w {
			t.Errorf("%s = %d, want %d", key, g, w)
		}
	}
}

func TestConvertRejectsBadInput(t *testing.T) {
	dir := sharedDir(t)
	ckpt, err := os.ReadFile(filepath.Join(dir, "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	badHeader := slices.Clone(ckpt)
	badHeader[0] = 0 // dim 0... with the next bytes still set: dim = 0
	badHeader[1], badHeader[2], badHeader[3] = 0, 0, 0
	for _, c := range []struct {
		name     string
		ckpt     []byte
		tok      []byte
		wantText string
	}{
		{"empty checkpoint", nil, tok, "too short"},
		{"truncated checkpoint", ckpt[:len(ckpt)/2], tok, "needs bytes"},
		{"trailing bytes", append(slices.Clone(ckpt), 1, 2, 3, 4), tok, "trailing bytes"},
		{"bad header", badHeader, tok, "non-positive"},
		{"truncated tokenizer", ckpt, tok[:100], "tokenizer: piece"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Convert(&bytes.Buffer{}, c.ckpt, c.tok, "x")
			if err == nil || !strings.Contains(err.Error(), c.wantText) {
				t.Fatalf("err = %v, want %q", err, c.wantText)
			}
			if fault.CodeOf(err) != fault.Unprocessable {
				t.Errorf("code %s", fault.CodeOf(err))
			}
		})
	}
}
