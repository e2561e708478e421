package llm

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
)

type nopModel struct{ u *url.URL }

func (nopModel) Chat(context.Context, *chat.Request, chat.StreamFunc) (*chat.Response, error) {
	return &chat.Response{}, nil
}

func TestRegistryOpen(t *testing.T) {
	var r Registry
	var opened []string
	for _, s := range []string{"gguf", "openai+http", "ollama"} {
		r.Register(s, func(_ context.Context, u *url.URL) (Model, error) {
			opened = append(opened, u.Scheme+"|"+u.Host+"|"+u.Path+"|"+u.Fragment)
			return nopModel{u}, nil
		})
	}
	abs, _ := filepath.Abs("rel/m.gguf")
	for _, c := range []struct{ ref, want string }{
		{"/models/a.gguf", "gguf||/models/a.gguf|"},
		{"rel/m.gguf", "gguf||" + abs + "|"},
		{"gguf:rel/m.gguf", "gguf||" + abs + "|"},
		{"gguf:///models/a.gguf", "gguf||/models/a.gguf|"},
		{"OpenAI+HTTP://127.0.0.1:8080/v1#qwen", "openai+http|127.0.0.1:8080|/v1|qwen"},
		{"ollama://127.0.0.1:11434/llama3.2:1b", "ollama|127.0.0.1:11434|/llama3.2:1b|"},
	} {
		opened = nil
		if _, err := r.Open(context.Background(), c.ref); err != nil {
			t.Fatalf("Open(%q): %v", c.ref, err)
		}
		if len(opened) != 1 || opened[0] != c.want {
			t.Errorf("Open(%q) opened %v, want %s", c.ref, opened, c.want)
		}
	}
	for _, bad := range []string{"", "ftp://x/y", "nonsense"} {
		_, err := r.Open(context.Background(), bad)
		if err == nil || fault.CodeOf(err) != fault.Invalid {
			t.Errorf("Open(%q) = %v, want an invalid_request error", bad, err)
		}
	}
	_, err := r.Open(context.Background(), "ftp://x/y")
	if !strings.Contains(err.Error(), "gguf, ollama, openai+http") {
		t.Errorf("error does not list the known schemes: %v", err)
	}
}
