package cli

import (
	"context"
	"fmt"

	"github.com/seance-dev/seance/internal/config"
)

func init() {
	commands["config"] = command{summary: "show the effective configuration (secrets redacted): config show [--json]", run: runConfig}
}

func runConfig(_ context.Context, e *env, args []string) error {
	fs := e.flagSet("config", "show")
	asJSON := fs.Bool("json", false, "print JSON")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) != 1 || args[0] != "show" {
		return fmt.Errorf("%w: expected 'config show'", errUsage)
	}
	cfg, err := e.config(config.Flags{})
	if err != nil {
		return err
	}
	if *asJSON {
		v, err := cfg.RedactedValue()
		if err != nil {
			return err
		}
		return printJSON(e.Out, v)
	}
	out, err := cfg.Redacted()
	if err != nil {
		return err
	}
	if cfg.File != "" {
		fmt.Fprintf(e.Out, "# from %s\n", cfg.File)
	} else {
		fmt.Fprintf(e.Out, "# no config file; defaults and environment\n")
	}
	_, err = e.Out.Write(out)
	return err
}
