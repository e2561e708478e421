package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/policy/audit"
)

func init() {
	commands["audit"] = command{
		summary: "the tamper-evident audit log: audit verify [--json], audit checkpoint, audit show [--run ID --agent A --tool T --kind K --decision D --since T --until T] [--json]",
		run:     runAudit,
	}
}

// verifyJSON is `seance audit verify --json`'s output.
type verifyJSON struct {
	Path        string       `json:"path"`
	OK          bool         `json:"ok"`
	Entries     int64        `json:"entries"`
	LastSeq     int64        `json:"last_seq"`
	LastHash    string       `json:"last_hash"`
	HeadChecked bool         `json:"head_checked"`
	Checkpoints int          `json:"checkpoints"`
	Problem     *problemJSON `json:"problem,omitempty"`
}

type problemJSON struct {
	Entry  int64  `json:"entry"`
	Offset int64  `json:"offset"`
	What   string `json:"what"`
	Torn   bool   `json:"torn,omitempty"`
}

func runAudit(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("audit", "verify | checkpoint | show")
	var f audit.Filter
	fs.StringVar(&f.Run, "run", "", "show: only run `id`")
	fs.StringVar(&f.Agent, "agent", "", "show: only `agent`")
	fs.StringVar(&f.Tool, "tool", "", "show: only `tool`")
	fs.StringVar(&f.Kind, "kind", "", "show: only entries of `kind` (call, request, grant, deny, policy)")
	fs.StringVar(&f.Decision, "decision", "", "show: only `decision` (allow, ask, deny)")
	since := fs.String("since", "", "show: entries at or after `time` (RFC 3339, or a duration ago such as 1h)")
	until := fs.String("until", "", "show: entries before `time` (RFC 3339, or a duration ago)")
	asJSON := fs.Bool("json", false, "print JSON")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) != 1 || (args[0] != "verify" && args[0] != "show" && args[0] != "checkpoint") {
		return fmt.Errorf("%w: expected 'audit verify', 'audit checkpoint' or 'audit show'", errUsage)
	}
	now := time.Now()
	if f.Since, err = parseWhen(*since, now); err != nil {
		return err
	}
	if f.Until, err = parseWhen(*until, now); err != nil {
		return err
	}
	a, err := e.app(config.Flags{})
	if err != nil {
		return err
	}
	defer a.Close()
	path := a.AuditPath()
	if args[0] == "checkpoint" {
		h, commit, err := a.CheckpointAudit(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.Out, map[string]any{"seq": h.Seq, "hash": h.Hash, "commit": commit})
		}
		if commit == "" {
			_, err = fmt.Fprintf(e.Out, "checkpoint at entry %d already committed\n", h.Seq)
			return err
		}
		_, err = fmt.Fprintf(e.Out, "checkpoint at entry %d committed to the home as %.12s\n", h.Seq, commit)
		return err
	}
	if args[0] == "verify" {
		cps, err := a.AuditCheckpoints(ctx)
		if err != nil {
			return err
		}
		if _, serr := os.Stat(path); errors.Is(serr, os.ErrNotExist) && len(cps) == 0 {
			// Nothing has been audited yet, and no checkpoint says a log ever existed.
			if *asJSON {
				return printJSON(e.Out, verifyJSON{Path: path, OK: true})
			}
			_, err := fmt.Fprintf(e.Out, "audit log %s: no entries yet (nothing has been audited, no checkpoints)\n", path)
			return err
		}
		rep, err := audit.Verify(path, cps...)
		if err != nil {
			return err
		}
		if *asJSON {
			v := verifyJSON{Path: path, OK: rep.OK(), Entries: rep.Entries, HeadChecked: rep.HeadChecked, Checkpoints: rep.Checkpoints,
				LastSeq: rep.Head.Seq, LastHash: rep.Head.Hash}
			if p := rep.Problem; p != nil {
				v.Problem = &problemJSON{Entry: p.Entry, Offset: p.Offset, What: p.What, Torn: p.Torn}
			}
			if err := printJSON(e.Out, v); err != nil {
				return err
			}
		} else if rep.OK() {
			head := "no head file to compare (tail truncation not checked)"
			if rep.HeadChecked {
				head = "matches the head file"
			}
			fmt.Fprintf(e.Out, "audit log %s: %d entries, chain intact, last entry %d %.16s… %s; %d checkpoints from the home's history\n",
				path, rep.Entries, rep.Head.Seq, rep.Head.Hash, head, rep.Checkpoints)
		}
		if !rep.OK() {
			what := "TAMPERED"
			if rep.Problem.Torn {
				what = "TORN (a crash while appending?)"
			}
			return fault.New(fault.Unprocessable, "audit log %s: %s at entry %d: %s", path, what, rep.Problem.Entry, rep.Problem.What)
		}
		return nil
	}
	es, err := audit.Show(path, f)
	if err != nil && len(es) == 0 {
		return err
	}
	if *asJSON {
		if perr := printJSON(e.Out, es); perr != nil {
			return perr
		}
		return err
	}
	tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tKIND\tRUN\tAGENT\tTOOL\tDECISION\tBY\tEXIT\tCOMMIT\tDETAIL")
	for _, x := range es {
		exit := "-"
		if x.Exit != nil {
			exit = fmt.Sprint(*x.Exit)
		}
		detail := x.Reason
		if len(x.Argv) > 0 {
			detail = strings.Join(x.Argv, " ")
		}
		if len(detail) > 60 {
			detail = detail[:60] + "…"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.12s\t%s\n", x.Seq, x.Time.Local().Format("2006-01-02 15:04:05"),
			x.Kind, dash(x.Run), dash(x.Agent), dash(x.Tool), dash(x.Decision), dash(x.ApprovedBy), exit, dash(x.Commit), detail)
	}
	if ferr := tw.Flush(); ferr != nil {
		return ferr
	}
	return err
}

// parseWhen reads an RFC 3339 time or a duration before now; "" is the zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: time %q: want RFC 3339 (2026-01-02T15:04:05Z) or a duration such as 1h", errUsage, s)
	}
	return t, nil
}
