package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/seance-dev/seance/internal/arena"
	"github.com/seance-dev/seance/internal/arena/dataset"
	"github.com/seance-dev/seance/internal/arena/rating"
	"github.com/seance-dev/seance/internal/config"
)

func init() {
	commands["arena"] = command{
		summary: "contestants on suites with verified answers: arena run SUITE --contestants a,b,team/x | arena board | arena export --sft|--dpo RUN-ID...",
		run:     runArena,
	}
}

func runArena(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: expected 'arena run', 'arena board' or 'arena export'", errUsage)
	}
	switch args[0] {
	case "run":
		return arenaRun(ctx, e, args[1:])
	case "board":
		return arenaBoard(ctx, e, args[1:])
	case "export":
		return arenaExport(ctx, e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintf(e.Out, "Usage: seance arena run|board|export [flags]\n\n%s\n\nRun 'seance arena run -h' for a subcommand's flags.\n", commands["arena"].summary)
		return nil
	}
	return fmt.Errorf("%w: unknown arena subcommand %q", errUsage, args[0])
}

func arenaRun(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("arena", "run SUITE --contestants a,b,team/x")
	contestants := fs.String("contestants", "", "comma-separated `names`: models, aliases, teams (team/NAME insists on a team)")
	format := fs.String("format", "", "suite `format` (gsm8k, svamp, math, arc, mmlu, truthfulqa, humaneval, mbpp, seance); guessed from the path when empty")
	limit := fs.Int("limit", 0, "run only the first `N` items (0: all)")
	conc := fs.Int("concurrency", 1, "answers in flight at once")
	seed := fs.Uint64("seed", 1, "run `seed`: every item and contestant gets a seed derived from it")
	maxTokens := fs.Int("max-tokens", 1024, "limit of generated tokens per answer")
	temp := fs.Float64("temperature", -1, "sampling temperature for every answer (-1: each model's default)")
	matched := fs.Bool("compute-matched", false, "add, for every team, its base model's self-consistency vote at the same generated tokens")
	resume := fs.String("resume", "", "resume the interrupted run `ID` (its suite, contestants and seed are reused)")
	retry := fs.Bool("retry-errors", false, "with --resume: ask again the answers that failed (a server that was down, a timeout)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	a, err := e.app(config.Flags{})
	if err != nil {
		return err
	}
	defer a.Close()
	dir := a.ArenaDir()
	opts := arena.RunOptions{Dir: dir, Concurrency: *conc, Runner: a.CodeRunner()}
	var names []string
	if *retry && *resume == "" {
		return fmt.Errorf("%w: --retry-errors needs --resume ID", errUsage)
	}
	if *resume != "" {
		if len(pos) > 1 {
			return fmt.Errorf("%w: --resume takes no suite (the run's own is used)", errUsage)
		}
		m, err := arena.ReadMeta(dir, *resume)
		if err != nil {
			return err
		}
		opts.ID, opts.Resume, opts.RetryErrors = m.ID, true, *retry
		opts.SuitePath, opts.Format, opts.Seed, opts.Limit, opts.MaxTokens = m.SuitePath, m.Format, m.Seed, m.Limit, m.MaxTokens
		opts.Temperature, opts.ComputeMatched = m.Temperature, m.ComputeMatched
		for _, c := range m.Contestants {
			names = append(names, c.Name)
		}
	} else {
		if len(pos) != 1 {
			return fmt.Errorf("%w: expected one SUITE file", errUsage)
		}
		for _, n := range strings.Split(*contestants, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return fmt.Errorf("%w: --contestants names no one", errUsage)
		}
		abs, err := filepath.Abs(pos[0])
		if err != nil {
			return err
		}
		opts.SuitePath, opts.Format, opts.Seed, opts.Limit, opts.MaxTokens = abs, arena.Format(*format), *seed, *limit, *maxTokens
		if opts.Format == "" {
			opts.Format = arena.GuessFormat(abs)
		}
		if *temp >= 0 {
			opts.Temperature = temp
		}
		opts.ComputeMatched = *matched
	}
	suite, err := arena.Open(opts.SuitePath, opts.Format)
	if err != nil {
		return err
	}
	opts.Suite = suite
	for _, n := range names {
		c, err := a.Contestant(ctx, n)
		if err != nil {
			return fmt.Errorf("contestant %s: %w", n, err)
		}
		if opts.ComputeMatched && c.Team && c.Base == nil {
			fmt.Fprintf(e.Err, "seance arena: team %s has no agent member, so no base model to compare it with\n", n)
		}
		opts.Contestants = append(opts.Contestants, c)
	}
	pr := newArenaProgress(e.Err, isTerminal(e.Err))
	opts.Progress = pr.update
	res, err := arena.Run(ctx, opts)
	pr.finish()
	if err != nil {
		if res != nil && ctx.Err() != nil {
			fmt.Fprintf(e.Err, "seance arena: interrupted; %d answers are recorded in %s; continue with: seance arena run --resume %s\n",
				len(res.Records), res.Dir, res.Meta.ID)
		}
		return err
	}
	sum := arena.Summarize(res.Meta, res.Records, time.Now())
	files, err := arena.WriteReport(res.Dir, sum)
	if err != nil {
		return err
	}
	commit, cerr := a.CommitArenaRun(ctx, res.Meta.ID, fmt.Sprintf("arena: %s on %s (%d items)", strings.Join(names, ", "), suite.Name, sum.Items))
	if cerr != nil {
		fmt.Fprintf(e.Err, "seance arena: the results are in %s but were not committed: %v\n", res.Dir, cerr)
	}
	if *asJSON {
		return printJSON(e.Out, struct {
			arena.Summary
			Dir    string   `json:"dir"`
			Files  []string `json:"files"`
			Commit string   `json:"commit,omitempty"`
		}{sum, res.Dir, files, commit})
	}
	tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "CONTESTANT\tACCURACY\t95%% INTERVAL\tCORRECT\tERRORS\tGEN TOKENS/ITEM\tFLOPS/ITEM\tTIME/ITEM\n")
	for _, s := range sum.Scores {
		fmt.Fprintf(tw, "%s\t%.1f%%\t%.1f–%.1f%%\t%d/%d\t%d\t%.0f\t%.3g\t%s\n", s.Contestant, 100*s.Accuracy.Estimate, 100*s.Accuracy.Low,
			100*s.Accuracy.High, s.Correct, s.Items, s.Errors, s.CompletionTokens, s.FLOPs, s.Wall.Round(time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	failed := 0
	for _, s := range sum.Scores {
		for _, k := range s.ErrorKinds {
			if failed == 0 {
				fmt.Fprintln(e.Out)
			}
			failed += k.Count
			fmt.Fprintf(e.Out, "%s: %s\n", s.Contestant, arena.ErrorLine(k))
		}
	}
	for _, m := range sum.Matches {
		fmt.Fprintf(e.Out, "\n%s vs %s at the same generated tokens: team %d wins, vote %d wins, %d ties; difference %+.1f points (%+.1f to %+.1f)\n",
			m.Team, m.Baseline, m.TeamWins, m.BaselineWins, m.Ties, 100*m.Difference.Estimate, 100*m.Difference.Low, 100*m.Difference.High)
	}
	fmt.Fprintf(e.Out, "\nrun %s: %s\n", res.Meta.ID, filepath.Join(res.Dir, arena.ReportHTML))
	if commit != "" {
		fmt.Fprintf(e.Out, "committed %.12s\n", commit)
	}
	if failed > 0 {
		fmt.Fprintf(e.Out, "failed answers count as wrong; if their cause has passed (a server that was down, a timeout), ask them again with: seance arena run --resume %s --retry-errors\n", res.Meta.ID)
	}
	return nil
}

// arenaProgress shows a run's progress: a bar redrawn in place on a terminal, otherwise a line
// every ten seconds (and at phase changes).
type arenaProgress struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	last time.Time
	prev arena.Progress
	any  bool
}

func newArenaProgress(w io.Writer, tty bool) *arenaProgress { return &arenaProgress{w: w, tty: tty} }

func (p *arenaProgress) update(pr arena.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	phaseChange := pr.Phase != p.prev.Phase
	p.prev, p.any = pr, true
	if p.tty {
		const width = 30
		fill := 0
		if pr.Total > 0 {
			fill = width * pr.Done / pr.Total
		}
		if phaseChange && p.last != (time.Time{}) {
			fmt.Fprintln(p.w)
		}
		fmt.Fprintf(p.w, "\r%-15s [%s%s] %d/%d  correct %d  errors %d  %s ", pr.Phase, strings.Repeat("#", fill), strings.Repeat(".", width-fill),
			pr.Done, pr.Total, pr.Correct, pr.Errors, pr.Elapsed.Round(time.Second))
		p.last = time.Now()
		return
	}
	if !phaseChange && pr.Done != pr.Total && time.Since(p.last) < 10*time.Second {
		return
	}
	p.last = time.Now()
	line := fmt.Sprintf("arena: %s %d/%d, %d correct, %d errors, %s", pr.Phase, pr.Done, pr.Total, pr.Correct, pr.Errors, pr.Elapsed.Round(time.Second))
	if pr.Skipped > 0 {
		line += fmt.Sprintf(" (%d recorded before)", pr.Skipped)
	}
	fmt.Fprintln(p.w, line)
}

func (p *arenaProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.any {
		fmt.Fprintln(p.w)
	}
}

func arenaBoard(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("arena", "board")
	asJSON := fs.Bool("json", false, "print JSON")
	resamples := fs.Int("resamples", 1000, "bootstrap resamples for the intervals")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: arena board takes no arguments", errUsage)
	}
	a, err := e.app(config.Flags{})
	if err != nil {
		return err
	}
	defer a.Close()
	st, err := arena.Board(a.ArenaDir(), rating.Options{Resamples: *resamples, Seed: 1})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Out, st)
	}
	if st.Runs == 0 {
		_, err := fmt.Fprintln(e.Out, "no arena runs yet (seance arena run SUITE --contestants ...)")
		return err
	}
	fmt.Fprintf(e.Out, "%d runs, %d items (an item's latest answer per contestant counts)\n\n", st.Runs, st.Items)
	tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTESTANT\tACCURACY\tELO\tELO 95%\tBRADLEY-TERRY\tBT 95%\tWINS\tLOSSES")
	for i, c := range st.Contestants {
		acc, elo, bt := st.Accuracy[i], st.Elo[i], st.BradleyTerry[i]
		fmt.Fprintf(tw, "%s\t%.1f%% (%.1f–%.1f)\t%.0f\t%.0f–%.0f\t%.0f\t%.0f–%.0f\t%d\t%d\n", c, 100*acc.Estimate, 100*acc.Low, 100*acc.High,
			elo.Estimate, elo.Low, elo.High, bt.Estimate, bt.Low, bt.High, bt.Wins, bt.Losses)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.Pairs) > 0 {
		fmt.Fprintln(e.Out, "\nhead to head (wins are items one got right and the other wrong):")
		for _, p := range st.Pairs {
			fmt.Fprintf(e.Out, "  %s %d – %d %s  (%d ties)\n", p.A, p.WinsA, p.WinsB, p.B, p.Ties)
		}
	}
	return nil
}

func arenaExport(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("arena", "export --sft|--dpo RUN-ID...")
	sft := fs.Bool("sft", false, "export SFT records (chat JSONL) from verified-correct answers")
	dpo := fs.Bool("dpo", false, "export DPO pairs (verified correct vs verified wrong, same prompt)")
	out := fs.String("o", "", "output `file` (default: standard output)")
	allow := fs.Bool("allow-unverified", false, "SFT: include answers no verifier checked (marked verified=false)")
	minAgree := fs.Float64("min-agreement", 0, "drop answers with less vote agreement (0..1)")
	maxPairs := fs.Int("max-pairs", 4, "DPO: most pairs per prompt")
	ids, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *sft == *dpo {
		return fmt.Errorf("%w: choose one of --sft and --dpo", errUsage)
	}
	if len(ids) == 0 {
		return fmt.Errorf("%w: name at least one RUN-ID", errUsage)
	}
	a, err := e.app(config.Flags{})
	if err != nil {
		return err
	}
	defer a.Close()
	ts, err := arena.Transcripts(a.ArenaDir(), ids)
	if err != nil {
		return err
	}
	filter := dataset.Filter{AllowUnverified: *allow, MinAgreement: *minAgree, MaxPairs: *maxPairs}
	w := e.Out
	var f *os.File
	if *out != "" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		w = f
	}
	var rep dataset.Report
	if *sft {
		var recs []dataset.SFT
		recs, rep = dataset.ExportSFT(ts, filter)
		err = dataset.WriteJSONL(w, recs)
	} else {
		var recs []dataset.DPO
		recs, rep = dataset.ExportDPO(ts, filter)
		err = dataset.WriteJSONL(w, recs)
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.Err, "seance arena export: %s\n", rep)
	return errors.Join(err, ctx.Err())
}
