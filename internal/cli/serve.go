package cli

import (
	"context"
	"fmt"
	"net"

	"github.com/seance-dev/seance/internal/config"
)

func init() {
	commands["serve"] = command{summary: "serve models over the OpenAI-compatible HTTP API", run: runServe}
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("serve", "")
	addr := fs.String("addr", "", "listen address (default: config serve.addr, 127.0.0.1:8080)")
	threads := fs.Int("threads", 0, "threads for the embedded engine (default: config)")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, args)
	}
	a, err := e.app(config.Flags{Addr: *addr, Threads: *threads})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", a.Config().Serve.Addr)
	if err != nil {
		return err
	}
	keys := "no API key required"
	if len(a.Config().Serve.APIKeys) > 0 {
		keys = fmt.Sprintf("%d API key(s) required", len(a.Config().Serve.APIKeys))
	}
	fmt.Fprintf(e.Err, "seance serving on http://%s/v1 (%s); default model %q; Ctrl-C stops\n",
		ln.Addr(), keys, a.Config().DefaultModel)
	return a.Serve(ctx, ln, buildVersion().Version)
}
