// Package deps holds the test that keeps docs/ARCHITECTURE.md true: every package of the module may
// import only the packages its layer allows, and every package appears in the document.
package deps

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/seance-dev/seance"

// allowed maps a package (relative to the module) to the module packages it may import. A trailing
// "/..." allows a package and everything below it. Third-party imports are listed in thirdParty.
var allowed = map[string][]string{
	"internal/chat":             {},
	"internal/fault":            {},
	"internal/engine/tensor":    {},
	"internal/engine/gguf":      {"internal/engine/tensor", "internal/fault"},
	"internal/engine/tokenizer": {"internal/fault"},
	"internal/engine/chattmpl":  {"internal/chat", "internal/fault"},
	"internal/engine/sample":    {"internal/fault"},
	"internal/engine/constrain": {},
	"internal/engine/llama":     {"internal/engine/tensor", "internal/engine/gguf", "internal/fault"},
	"internal/engine":           {"internal/engine/...", "internal/chat", "internal/fault"},
	"internal/llm":              {"internal/chat", "internal/fault"},
	"internal/llm/toolcalls":    {"internal/chat", "internal/fault"},
	"internal/llm/llmtest":      {"internal/llm", "internal/chat", "internal/fault"},
	"internal/llm/openai":       {"internal/llm", "internal/llm/toolcalls", "internal/llm/remote", "internal/llm/retry", "internal/chat", "internal/fault"},
	"internal/llm/ollama":       {"internal/llm", "internal/llm/toolcalls", "internal/llm/remote", "internal/llm/retry", "internal/chat", "internal/fault"},
	"internal/llm/remote":       {"internal/llm/retry", "internal/fault"},
	"internal/llm/retry":        {},
	"internal/llm/embedded":     {"internal/llm", "internal/llm/toolcalls", "internal/engine", "internal/chat", "internal/fault"},
	"internal/llm/catalog":      {"internal/llm", "internal/fault"},
	"internal/openai":           {"internal/chat", "internal/fault"},
	"internal/team":             {"internal/llm", "internal/chat", "internal/fault"},
	"internal/config":           {"internal/fault"},
	"internal/gitrepo":          {"internal/fault"},
	"internal/memory/uselite":   {"internal/engine/tensor", "internal/fault"},
	"internal/memory":           {"internal/fault"},
	"internal/memory/vecindex":  {"internal/memory", "internal/engine/tensor", "internal/fault"},
	"internal/memory/sqlite":    {"internal/memory", "internal/memory/vecindex", "internal/fault"},
	"internal/memory/embed":     {"internal/memory", "internal/memory/uselite", "internal/llm", "internal/fault"},
	"internal/memory/ground":    {"internal/memory", "internal/llm", "internal/chat", "internal/fault"},
	"internal/memory/postgres":  {"internal/memory", "internal/memory/vecindex", "internal/fault"},
	"internal/sandbox":          {"internal/fault"},
	"internal/netproxy":         {"internal/fault"},
	"internal/workspace":        {"internal/runid", "internal/gitrepo", "internal/fault"},
	"internal/policy/audit":     {"internal/fault"},
	"internal/policy":           {"internal/runid", "internal/gitrepo", "internal/policy/audit", "internal/fault"},
	"internal/tool":             {"internal/workspace", "internal/policy", "internal/policy/audit", "internal/chat", "internal/fault"},
	"internal/tool/builtin":     {"internal/tool", "internal/workspace", "internal/sandbox", "internal/netproxy", "internal/policy", "internal/memory", "internal/chat", "internal/fault"},
	"internal/agent":            {"internal/tool", "internal/llm", "internal/chat", "internal/fault"},
	"internal/arena/verify":     {"internal/fault"},
	"internal/arena/rating":     {},
	"internal/arena/dataset":    {"internal/team", "internal/chat", "internal/fault"},
	"internal/arena":            {"internal/runid", "internal/arena/...", "internal/team", "internal/llm", "internal/chat", "internal/fault"},
	"internal/arena/sandboxrun": {"internal/arena/verify", "internal/sandbox", "internal/fault"},
	"internal/sandbox/redteam":  {},
	"internal/home":             {"internal/runid", "internal/team", "internal/gitrepo", "internal/llm", "internal/chat", "internal/fault"},
	"internal/httpapi":          {"internal/openai", "internal/llm", "internal/chat", "internal/fault"},
	"internal/app":              {"internal/..."},
	"internal/cli":              {"internal/policy", "internal/app", "internal/config", "internal/llm", "internal/chat", "internal/fault", "internal/engine/gguf", "internal/engine/llama2c", "internal/team", "internal/home", "internal/memory", "internal/memory/ground", "internal/openai", "internal/workspace", "internal/policy/audit", "internal/arena", "internal/arena/rating", "internal/arena/dataset"},
	"internal/engine/llama2c":   {"internal/engine/gguf", "internal/engine/tensor", "internal/fault"},
	"cmd/seance":                {"internal/cli", "internal/sandbox"},
	"internal/runid":            {},
	"internal/deps":             {},
	"internal/testenv":          {},
	"bench/cmd/ggufgen":         {"internal/engine/...", "bench/..."},
	"bench/ggufgen":             {"internal/engine/..."},

	// Test-only helpers.
	"internal/memory/memorytest": {"internal/memory", "internal/memory/vecindex", "internal/testenv", "internal/fault"},
}

// thirdParty lists the non-module, non-standard imports each package may use.
var thirdParty = map[string][]string{
	"internal/engine/tensor": {"golang.org/x/sys/cpu"},
	"internal/engine/gguf":   {"golang.org/x/sys/unix"},
	"internal/config":        {"go.yaml.in/yaml/v3"},
	"internal/home":          {"go.yaml.in/yaml/v3"},
	"internal/policy":        {"go.yaml.in/yaml/v3"},
	"internal/sandbox":       {"golang.org/x/sys/unix"},
	"internal/app":           {"golang.org/x/sync/errgroup"},
	"internal/memory":        {"go.yaml.in/yaml/v3", "golang.org/x/net/html"},
	"internal/memory/sqlite": {"modernc.org/sqlite"},
	"internal/team":          {"golang.org/x/sync/errgroup"},

	"internal/memory/postgres": {"github.com/jackc/pgx/v5", "github.com/jackc/pgx/v5/pgxpool"},
}

func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(strings.TrimPrefix(f[0], module), "/")
		rules, ok := allowed[pkg]
		if !ok {
			t.Errorf("package %s has no entry in the import rules (internal/deps and docs/ARCHITECTURE.md)", pkg)
			continue
		}
		for _, imp := range f[1:] {
			switch {
			case strings.HasPrefix(imp, module+"/"):
				rel := strings.TrimPrefix(imp, module+"/")
				if !match(rules, rel) {
					t.Errorf("%s imports %s, which its layer does not allow", pkg, rel)
				}
			case isStd(imp):
			default:
				if !match(thirdParty[pkg], imp) && pkg != "internal/app" {
					t.Errorf("%s imports third-party %s, which is not in the allowed list", pkg, imp)
				}
			}
		}
	}
}

func TestArchitectureDocListsEveryPackage(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for p := range allowed {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join("..", "..", p)); err != nil {
			continue // a rule for a package not written yet
		}
		if !bytes.Contains(doc, []byte("`"+p+"`")) {
			t.Errorf("docs/ARCHITECTURE.md does not mention `%s`", p)
		}
	}
}

func match(rules []string, pkg string) bool {
	for _, r := range rules {
		if r == pkg {
			return true
		}
		if base, ok := strings.CutSuffix(r, "/..."); ok && (pkg == base || strings.HasPrefix(pkg, base+"/")) {
			return true
		}
	}
	return false
}

func isStd(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".") && path.Clean(imp) == imp
}
