package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/seance-dev/seance/internal/config"
)

func init() {
	commands["runs"] = command{summary: "saved run transcripts: runs list [--json], runs show ID [--json]", run: runRuns}
}

// runRow is a run as `seance runs list --json` prints it.
type runRow struct {
	ID      string            `json:"id"`
	Team    string            `json:"team"`
	Started time.Time         `json:"started"`
	File    string            `json:"file"`
	Hashes  map[string]string `json:"hashes,omitempty"`
}

func runRuns(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("runs", "list | show ID")
	asJSON := fs.Bool("json", false, "print JSON")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	sub := "list"
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch {
	case sub == "list" && len(args) == 0:
	case sub == "show" && len(args) == 1:
	default:
		return fmt.Errorf("%w: expected 'runs list' or 'runs show ID'", errUsage)
	}
	a, err := e.app(config.Flags{})
	if err != nil {
		return err
	}
	defer a.Close()
	h, err := a.Home()
	if h == nil {
		return err
	}
	// Invalid agent or team files do not prevent reading transcripts.
	if sub == "show" {
		r, err := h.ShowRun(ctx, args[0])
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.Out, struct {
				ID         string            `json:"id"`
				Team       string            `json:"team"`
				Started    time.Time         `json:"started"`
				File       string            `json:"file"`
				Commit     string            `json:"commit,omitempty"`
				Hashes     map[string]string `json:"hashes,omitempty"`
				Transcript json.RawMessage   `json:"transcript"`
			}{r.ID, r.Team, r.Started, r.File, r.Commit, r.Hashes, r.Transcript})
		}
		fmt.Fprintf(e.Out, "run      %s\nteam     %s\nstarted  %s\nfile     %s\n", r.ID, dash(r.Team),
			r.Started.Local().Format(time.RFC3339), r.File)
		if r.Commit != "" {
			fmt.Fprintf(e.Out, "commit   %s\n", r.Commit)
		}
		files := make([]string, 0, len(r.Hashes))
		for f := range r.Hashes {
			files = append(files, f)
		}
		sort.Strings(files)
		for _, f := range files {
			fmt.Fprintf(e.Out, "uses     %s %.12s\n", f, r.Hashes[f])
		}
		var pretty bytes.Buffer
		if json.Indent(&pretty, r.Transcript, "", "  ") != nil {
			pretty.Reset()
			pretty.Write(r.Transcript)
		}
		_, err = fmt.Fprintf(e.Out, "transcript:\n%s\n", pretty.Bytes())
		return err
	}
	runs, err := h.ListRuns(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		rows := make([]runRow, 0, len(runs))
		for _, r := range runs {
			rows = append(rows, runRow{r.ID, r.Team, r.Started, r.File, r.Hashes})
		}
		return printJSON(e.Out, rows)
	}
	if len(runs) == 0 {
		_, err := fmt.Fprintln(e.Out, "no runs yet")
		return err
	}
	tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTEAM\tSTARTED\tFILE")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, dash(r.Team), r.Started.Local().Format("2006-01-02 15:04:05"), r.File)
	}
	return tw.Flush()
}
