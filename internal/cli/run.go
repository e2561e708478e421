package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/app"
	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/home"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/team"
)

func init() {
	commands["run"] = command{summary: "run a team on a prompt, showing its members and rounds live", run: runTeam}
}

func runTeam(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("run", "TEAM PROMPT... (or - to read stdin)")
	events := fs.Bool("events", false, "print the run's events as JSON lines (stdout) instead of the live view")
	asJSON := fs.Bool("json", false, "print the whole result (transcript) as JSON at the end")
	maxTokens := fs.Int("max-tokens", 0, "maximum tokens of each member's completion (default: the agents')")
	seed := fs.Int64("seed", -1, "seed for the members' sampling")
	wsDir := fs.String("workspace", "", "the git workspace `folder` agents with tools work in (their calls run in the sandbox, each change a commit on the run's branch)")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) < 1 {
		return fmt.Errorf("%w: expected 'run TEAM PROMPT...'", errUsage)
	}
	name := args[0]
	prompt, err := readPrompt(args[1:], e.In)
	if err != nil {
		return err
	}
	a, err := e.app(config.Flags{})
	if err != nil {
		return err
	}
	defer a.Close()
	if *wsDir != "" {
		mem, err := toolMemory(ctx, a) // recall and remember, when an agent lists them
		if err != nil {
			return err
		}
		if mem != nil {
			defer mem.Close()
		}
		tools, err := openRunTools(ctx, e, a, *wsDir, mem)
		if err != nil {
			return err
		}
		defer tools.Close()
		a.UseTools(tools)
	}
	m, ok, err := a.Team(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return fault.New(fault.NotFound, "no team %q in %s (see 'seance teams list')", name, a.Config().Home)
	}
	req := &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: prompt}}, MaxTokens: *maxTokens}
	if *seed >= 0 {
		req.Sampling.Seed = seed
	}
	var wg sync.WaitGroup
	ctx = team.ObserveRuns(ctx, func(r *team.Run) {
		ch, _ := r.Subscribe(4096)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if *events {
				enc := json.NewEncoder(e.Out)
				for ev := range ch {
					_ = enc.Encode(ev)
				}
				return
			}
			live(e.Err, ch)
		}()
	})
	var stream chat.StreamFunc
	if !*events && !*asJSON {
		stream = func(d chat.Delta) error {
			_, err := io.WriteString(e.Out, d.Content)
			return err
		}
	}
	res, err := m.Run(ctx, req, stream)
	wg.Wait()
	if res == nil {
		return err
	}
	if *asJSON {
		if perr := printJSON(e.Out, res); perr != nil {
			return perr
		}
		return err
	}
	if !*events {
		if stream == nil {
			fmt.Fprint(e.Out, res.Answer)
		}
		fmt.Fprintln(e.Out)
		t := res.Totals
		fmt.Fprintf(e.Err, "[run %s · %d calls · %d prompt + %d completion tokens · %.3g FLOPs · wall %s]\n",
			res.Run, len(res.Calls), t.PromptTokens, t.CompletionTokens, t.FLOPs, res.Wall.Round(time.Millisecond))
		if res.Partial {
			fmt.Fprintf(e.Err, "[partial result: %s]\n", strings.Join(res.Reasons, "; "))
		}
	}
	return err
}

// live prints a run's events for a person: members starting and finishing, rounds, tallies; the
// events of a nested team indented under the member that runs it.
func live(w io.Writer, ch <-chan team.Event) {
	for ev := range ch {
		io.WriteString(w, eventLine(ev, ""))
	}
}

// eventLine formats one event (and a nested team's event, recursively) for live, or "" for events a
// person does not need to see (deltas).
func eventLine(ev team.Event, indent string) string {
	who := ev.Member
	if ev.Role != "" {
		who += " (" + ev.Role + ")"
	}
	if ev.Round > 0 {
		who += fmt.Sprintf(" round %d", ev.Round)
	}
	switch ev.Kind {
	case team.RunStarted:
		return fmt.Sprintf("%s▶ %s · %s\n", indent, ev.Team, ev.Pattern)
	case team.MemberStarted:
		return fmt.Sprintf("%s  … %s\n", indent, who)
	case team.MemberFinished:
		if ev.Error != "" {
			return fmt.Sprintf("%s  ✗ %s: %s\n", indent, who, ev.Error)
		}
		tokens := 0
		if ev.Usage != nil {
			tokens = ev.Usage.CompletionTokens
		}
		return fmt.Sprintf("%s  ✓ %s · %d tokens · %s\n", indent, who, tokens, oneLine(ev.Text, 70))
	case team.RoundFinished:
		return fmt.Sprintf("%s  ── round %d done\n", indent, ev.Round)
	case team.RouteChosen:
		return fmt.Sprintf("%s  → routed to %s\n", indent, ev.Text)
	case team.VoteTally:
		if ev.Tally != nil {
			b, _ := json.Marshal(ev.Tally)
			return fmt.Sprintf("%s  ∑ tally %s\n", indent, b)
		}
	case team.BudgetExceeded:
		return fmt.Sprintf("%s  ! budget exceeded: %s\n", indent, strings.Join(ev.Reasons, "; "))
	case team.RunFinished:
		return fmt.Sprintf("%s■ done\n", indent)
	case team.Nested:
		if ev.Nested != nil {
			return eventLine(*ev.Nested, indent+"  │ ")
		}
	}
	return ""
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// openRunTools opens the tool runtime for a CLI run in workspace dir, with recall and remember over
// mem when it is not nil. Calls the policy sends to a person are asked on the terminal; without a
// terminal they are refused.
func openRunTools(ctx context.Context, e *env, a *app.App, dir string, mem app.MemoryStore) (*app.Tools, error) {
	var tools *app.Tools
	interactive := isTerminal(e.Err) && e.In != nil
	in := bufio.NewReader(e.In)
	approver := func(ctx context.Context, r policy.Request) {
		if !interactive {
			_, _ = tools.Policies.Deny(ctx, r.ID, "cli", "no terminal to ask a person")
			return
		}
		fmt.Fprintf(e.Err, "? agent %s asks for %s (%s) — allow? [y/N] ", r.Agent, r.Cap, r.Reason)
		line, _ := in.ReadString('\n')
		if strings.EqualFold(strings.TrimSpace(line), "y") {
			_, _ = tools.Policies.Grant(ctx, r.ID, "cli")
		} else {
			_, _ = tools.Policies.Deny(ctx, r.ID, "cli", "refused at the terminal")
		}
	}
	topts := app.ToolsOptions{Workspace: dir, Run: home.NewRunID(time.Now()), Approver: approver}
	if mem != nil {
		topts.Memory = mem
	}
	t, err := a.OpenTools(ctx, topts)
	if err != nil {
		return nil, err
	}
	tools = t
	return t, nil
}
