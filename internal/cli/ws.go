package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/workspace"
)

func init() {
	commands["ws"] = command{
		summary: "review a workspace: ws log [--run ID], ws diff [FROM [TO]] [--run ID], ws revert COMMIT, ws approve RUN, ws discard RUN",
		run:     runWS,
	}
}

// wsCommit is a commit as `seance ws log --json` prints it.
type wsCommit struct {
	Hash    string    `json:"hash"`
	Author  string    `json:"author"`
	Time    time.Time `json:"time"`
	Subject string    `json:"subject"`
	Files   []string  `json:"files,omitempty"`
}

func runWS(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("ws", "log | diff [FROM [TO]] | revert COMMIT | approve RUN | discard RUN")
	dir := fs.String("dir", ".", "workspace `folder`")
	run := fs.String("run", "", "run `id` (log: the run's commits not yet on main; diff: the run against main)")
	n := fs.Int("n", 20, "log: at most `N` commits (0: all)")
	by := fs.String("by", "user", "revert/approve: the `name` of the person, recorded as the commit's author")
	asJSON := fs.Bool("json", false, "print JSON")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: expected log, diff, revert, approve or discard", errUsage)
	}
	sub, args := args[0], args[1:]
	want := map[string][2]int{"log": {0, 0}, "diff": {0, 2}, "revert": {1, 1}, "approve": {1, 1}, "discard": {1, 1}}
	lim, ok := want[sub]
	if !ok || len(args) < lim[0] || len(args) > lim[1] {
		return fmt.Errorf("%w: expected 'ws log', 'ws diff [FROM [TO]]', 'ws revert COMMIT', 'ws approve RUN' or 'ws discard RUN'", errUsage)
	}
	a, err := e.app(config.Flags{})
	if err != nil {
		return err
	}
	defer a.Close()
	w, err := a.Workspace(ctx, *dir)
	if err != nil {
		return err
	}
	switch sub {
	case "log":
		var log []workspace.Commit
		if *run != "" {
			log, err = w.RunLog(ctx, *run, *n)
		} else {
			log, err = w.Log(ctx, *n)
		}
		if err != nil {
			return err
		}
		if *asJSON {
			rows := make([]wsCommit, 0, len(log))
			for _, c := range log {
				rows = append(rows, wsCommit{c.Hash, c.Author.Name, c.Time, c.Subject, c.Files})
			}
			return printJSON(e.Out, rows)
		}
		if len(log) == 0 {
			_, err := fmt.Fprintln(e.Out, "no commits")
			return err
		}
		tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "COMMIT\tTIME\tAUTHOR\tSUBJECT")
		for _, c := range log {
			fmt.Fprintf(tw, "%.12s\t%s\t%s\t%s\n", c.Hash, c.Time.Local().Format("2006-01-02 15:04:05"), c.Author.Name, c.Subject)
		}
		return tw.Flush()
	case "diff":
		var d string
		switch {
		case *run != "" && len(args) == 0:
			br, err := workspace.Branch(*run)
			if err != nil {
				return err
			}
			d, err = w.Diff(ctx, workspace.MainBranch, br)
			if err != nil {
				return err
			}
		case *run != "":
			return fmt.Errorf("%w: give either --run or revisions", errUsage)
		case len(args) == 0:
			d, err = w.Diff(ctx, "HEAD", "") // uncommitted changes
		case len(args) == 1:
			d, err = w.Diff(ctx, args[0]+"~1", args[0]) // what one commit changed
		default:
			d, err = w.Diff(ctx, args[0], args[1])
		}
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.Out, map[string]string{"diff": d})
		}
		_, err = fmt.Fprint(e.Out, d)
		return err
	case "revert":
		h, err := w.Revert(ctx, args[0], workspace.Person(*by))
		if err != nil {
			return err
		}
		return report(e, *asJSON, map[string]string{"reverted": args[0], "commit": h}, "reverted %s in new commit %.12s\n", args[0], h)
	case "approve":
		h, err := w.Approve(ctx, args[0], workspace.Person(*by))
		if err != nil {
			return err
		}
		return report(e, *asJSON, map[string]string{"run": args[0], "main": h}, "approved run %s: main is now %.12s\n", args[0], h)
	default: // discard
		if err := w.Discard(ctx, args[0]); err != nil {
			return err
		}
		return report(e, *asJSON, map[string]string{"discarded": args[0]}, "discarded run %s\n", args[0])
	}
}

// report prints v as JSON or the formatted line.
func report(e *env, asJSON bool, v any, format string, args ...any) error {
	if asJSON {
		return printJSON(e.Out, v)
	}
	_, err := fmt.Fprintf(e.Out, format, args...)
	return err
}
