package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeToolsConfig(t *testing.T) {
	t.Parallel()
	load := func(t *testing.T, file string) (*Config, string, error) {
		t.Helper()
		home := t.TempDir()
		sh := filepath.Join(home, ".seance")
		if err := os.MkdirAll(sh, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sh, "config.yaml"), []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(MapEnv(map[string]string{"HOME": home}), Flags{})
		return c, home, err
	}
	c, _, err := load(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Tools.AskTimeout != DefaultAskTimeout || c.Serve.Workspace != "" || len(c.Serve.ApproverKeys) != 0 {
		t.Errorf("defaults: tools %+v, workspace %q, approver keys %d", c.Tools, c.Serve.Workspace, len(c.Serve.ApproverKeys))
	}

	c, home, err := load(t, "serve:\n  workspace: ~/work/site\n  approver_keys: [sk-approver-secret]\ntools:\n  ask_timeout: 90s\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Serve.Workspace != filepath.Join(home, "work/site") || c.Tools.AskTimeout != 90*time.Second ||
		len(c.Serve.ApproverKeys) != 1 || c.Serve.ApproverKeys[0].Reveal() != "sk-approver-secret" {
		t.Errorf("serve %+v tools %+v", c.Serve, c.Tools)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "sk-approver-secret") || !strings.Contains(string(out), "ask_timeout: 1m30s") {
		t.Errorf("redacted config:\n%s", out)
	}

	for _, c := range []struct{ file, want string }{
		{"serve:\n  workspace: relative/dir\n", "serve.workspace"},
		{"tools:\n  ask_timeout: 10ms\n", "tools.ask_timeout"},
		{"tools:\n  ask_timeout: 48h\n", "tools.ask_timeout"},
		{"tools:\n  ask_timeout: soon\n", "config file"},
		{"tools:\n  unknown: 1\n", "config file"},
	} {
		if _, _, err := load(t, c.file); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want one naming %s", c.file, err, c.want)
		}
	}
}
