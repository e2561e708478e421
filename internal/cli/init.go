package cli

import (
	"context"
	"fmt"

	"github.com/seance-dev/seance/internal/config"
)

func init() {
	commands["init"] = command{summary: "create the seance home (a git repository) with the built-in example teams; safe to re-run", run: runInit}
}

func runInit(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("init", "")
	asJSON := fs.Bool("json", false, "print JSON")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) != 0 {
		return fmt.Errorf("%w: init takes no arguments (the folder is --home or $SEANCE_HOME)", errUsage)
	}
	a, err := e.app(config.Flags{})
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.InitHome(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		type step struct {
			Title   string   `json:"title"`
			Added   []string `json:"added,omitempty"`
			Kept    []string `json:"kept,omitempty"`
			Edited  []string `json:"edited,omitempty"`
			Skipped string   `json:"skipped,omitempty"`
			Commit  string   `json:"commit,omitempty"`
		}
		out := struct {
			Home        string `json:"home"`
			CreatedRepo bool   `json:"created_repo"`
			Steps       []step `json:"steps"`
		}{Home: rep.Dir, CreatedRepo: rep.CreatedRepo}
		for _, s := range rep.Steps {
			out.Steps = append(out.Steps, step{s.Title, s.Added, s.Kept, s.Edited, s.Skipped, s.Commit})
		}
		return printJSON(e.Out, out)
	}
	_, err = fmt.Fprint(e.Out, rep.String())
	return err
}
