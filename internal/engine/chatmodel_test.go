package engine

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seance-dev/seance/bench/ggufgen"
	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/engine/tensor"
)

// TestChatModelTemplate opens a small synthetic chat model (GPT-2 style vocabulary with ChatML
// special tokens and a chat template in its metadata) and checks the chat path: the model's own
// template is used, its special tokens become single ids, and a completion runs.
func TestChatModelTemplate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny-chat.gguf")
	if err := ggufgen.WriteFile(path, ggufgen.Options{Shape: ggufgen.Shapes["tiny"], Name: "tiny-chat", Type: tensor.Q8_0, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	m, err := Open(path, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Info().Template != TemplateModel || m.Info().Quantization != "Q8_0" {
		t.Fatalf("info %+v", m.Info())
	}
	msgs := []chat.Message{{Role: chat.System, Content: "Be brief."}, {Role: chat.User, Content: "hi there"}}
	text, err := m.Render(msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n"
	if text != want {
		t.Fatalf("rendered %q\nwant %q", text, want)
	}
	toks, _, err := m.Prompt(msgs, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	start, _ := m.Tokenizer().ID("<|im_start|>")
	end, _ := m.Tokenizer().ID("<|im_end|>")
	if n := count(toks, start); n != 3 {
		t.Errorf("<|im_start|> appears %d times as a token, want 3: %v", n, toks)
	}
	if n := count(toks, end); n != 2 {
		t.Errorf("<|im_end|> appears %d times as a token, want 2", n)
	}
	if !m.Tokenizer().IsEOG(end) {
		t.Errorf("<|im_end|> does not end generation")
	}
	seed := int64(1)
	resp, err := m.Chat(context.Background(), &chat.Request{Messages: msgs, MaxTokens: 12,
		Sampling: chat.Sampling{Seed: &seed}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.PromptTokens != len(toks) || resp.Usage.CompletionTokens == 0 {
		t.Errorf("usage %+v", resp.Usage)
	}
	if strings.Contains(resp.Message.Content, "<|im_end|>") {
		t.Errorf("the end-of-turn token leaked into the content: %q", resp.Message.Content)
	}
}

func count(xs []int, x int) int {
	return len(slices.DeleteFunc(slices.Clone(xs), func(v int) bool { return v != x }))
}
