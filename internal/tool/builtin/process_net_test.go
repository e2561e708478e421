package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seance-dev/seance/internal/tool"
	"github.com/seance-dev/seance/internal/workspace"
)

// TestRunCodeNetworkFromPolicy: a policy with hosts gives run_code the proxy and only those hosts;
// a policy without hosts gives it no network at all.
func TestRunCodeNetworkFromPolicy(t *testing.T) {
	needRoot(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "reached "+r.URL.Path)
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	px := newProcs(SandboxOptions{Languages: []string{"python3"},
		Resolver: fakeResolver{"evil.test": {netip.MustParseAddr("127.0.0.1")}}})
	if _, ok := px.langs["python3"]; !ok {
		t.Skip("python3 is not installed")
	}
	src := fmt.Sprintf(`
import urllib.request
for url in ["http://127.0.0.1:%d/allowed", "http://evil.test:%d/refused"]:
    try:
        print(urllib.request.urlopen(url, timeout=10).read().decode())
    except Exception as e:
        print("failed:", url, e)
`, port, port)
	args, _ := json.Marshal(map[string]string{"language": "python3", "source": src})
	ws := newWorkspace(t)
	call := func(hosts []string) tool.Result {
		pol := allPolicy()
		pol.Hosts = hosts
		var res tool.Result
		_, err := ws.Do(context.Background(), workspace.Call{Agent: "a", Tool: "run_code"}, func(ctx context.Context) error {
			var err error
			res, err = px.codeTool().Call(ctx, tool.Env{Agent: "a", Workspace: ws, Policy: pol}, args)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	res := call([]string{"127.0.0.1"})
	if !strings.Contains(res.Content, "reached /allowed") || !strings.Contains(res.Content, "failed: http://evil.test") {
		t.Errorf("with hosts: %s", res.Content)
	}
	if !strings.HasPrefix(res.Network, "1 allowed, 1 refused;") || !strings.Contains(res.Network, fmt.Sprintf("refused: evil.test:%d", port)) {
		t.Errorf("network summary %q", res.Network)
	}
	if hits.Load() != 1 {
		t.Errorf("the server saw %d requests, want 1", hits.Load())
	}

	res = call(nil)
	if strings.Contains(res.Content, "reached") || res.Network != "" || strings.Contains(res.Content, "network (through the proxy)") {
		t.Errorf("without hosts the process reached the network: %s (network %q)", res.Content, res.Network)
	}
	if hits.Load() != 1 {
		t.Errorf("the server saw %d requests, want still 1", hits.Load())
	}
}
