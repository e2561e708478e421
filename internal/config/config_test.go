package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/fault"
)

func TestLoadLayers(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	sh := filepath.Join(home, ".seance")
	if err := os.MkdirAll(sh, 0o755); err != nil {
		t.Fatal(err)
	}
	file := `
default_model: local
models:
  local: openai+http://127.0.0.1:8080/v1#qwen
  tiny: ~/m/tiny.gguf
backends:
  - name: lan
    url: openai+http://127.0.0.1:8080/v1
    api_key: sk-file-secret
engine:
  threads: 3
serve:
  addr: 127.0.0.1:9999
`
	if err := os.WriteFile(filepath.Join(sh, "config.yaml"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	env := MapEnv(map[string]string{"HOME": home, EnvThreads: "5", EnvServeAPIKey: "sk-serve"})
	c, err := Load(env, Flags{Addr: "127.0.0.1:7777"})
	if err != nil {
		t.Fatal(err)
	}
	if c.File != filepath.Join(sh, "config.yaml") {
		t.Errorf("File = %q", c.File)
	}
	if c.Engine.Threads != 5 {
		t.Errorf("threads = %d, want env 5 over file 3", c.Engine.Threads)
	}
	if c.Serve.Addr != "127.0.0.1:7777" {
		t.Errorf("addr = %q, want flag", c.Serve.Addr)
	}
	if got := c.ResolveModel(""); got != "openai+http://127.0.0.1:8080/v1#qwen" {
		t.Errorf("default model resolves to %q", got)
	}
	if got := c.ResolveModel("tiny"); got != filepath.Join(home, "m/tiny.gguf") {
		t.Errorf("tiny resolves to %q (want ~ expanded)", got)
	}
	if got := c.ResolveModel(DefaultModelAlias); got != "gguf:"+filepath.Join(sh, "models", DefaultModelFile) {
		t.Errorf("default alias resolves to %q", got)
	}
	if got := c.APIKeyFor("openai+http://127.0.0.1:8080/v1#qwen").Reveal(); got != "sk-file-secret" {
		t.Errorf("APIKeyFor = %q", got)
	}
	if len(c.Serve.APIKeys) != 1 || c.Serve.APIKeys[0].Reveal() != "sk-serve" {
		t.Errorf("serve keys = %v", c.Serve.APIKeys)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"sk-file-secret", "sk-serve"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("redacted config leaks %q:\n%s", secret, out)
		}
		if strings.Contains(fmt.Sprintf("%v %+v", c, c.Backends), secret) {
			t.Errorf("fmt of config leaks %q", secret)
		}
	}
	if !strings.Contains(string(out), "[redacted]") {
		t.Errorf("redacted output has no placeholder:\n%s", out)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(home, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name  string
		file  string
		env   map[string]string
		flags Flags
		want  string
	}{
		{"unknown field", write("a.yaml", "modle: x\n"), nil, Flags{}, "field modle not found"},
		{"bad yaml", write("b.yaml", "engine: [\n"), nil, Flags{}, "config file"},
		{"bad threads env", "", map[string]string{EnvThreads: "two"}, Flags{}, "SEANCE_THREADS"},
		{"threads range", write("c.yaml", "engine:\n  threads: -2\n"), nil, Flags{}, "engine.threads -2"},
		{"bad level", "", nil, Flags{LogLevel: "loud"}, "log.level"},
		{"bad backend", write("d.yaml", "backends:\n  - url: http://x\n"), nil, Flags{}, "backends[0].url"},
		{"missing explicit file", filepath.Join(home, "nope.yaml"), nil, Flags{}, "read config file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"HOME": home}
			for k, v := range c.env {
				env[k] = v
			}
			c.flags.ConfigFile = c.file
			_, err := Load(MapEnv(env), c.flags)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
			if fault.CodeOf(err) != fault.Invalid {
				t.Errorf("code = %s", fault.CodeOf(err))
			}
		})
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	p := filepath.Join(home, "empty.yaml")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(MapEnv(map[string]string{"HOME": home}), Flags{ConfigFile: p})
	if err != nil {
		t.Fatal(err)
	}
	if c.Home != filepath.Join(home, ".seance") || c.Serve.Addr != "127.0.0.1:8080" || c.Engine.Threads < 1 {
		t.Errorf("defaults not applied: %+v", c)
	}
}
