package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/home"
)

func init() {
	commands["agents"] = command{summary: "list the agents of the seance home: agents list [--json]", run: runAgents}
}

// agentRow is an agent as `seance agents list --json` prints it.
type agentRow struct {
	Name        string   `json:"name"`
	Model       string   `json:"model"`
	Persona     string   `json:"persona,omitempty"`
	Description string   `json:"description,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	TopK        *int     `json:"top_k,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Tools       []string `json:"tools,omitempty"`
	Memory      []string `json:"memory,omitempty"`
	Source      string   `json:"source"`
	SHA         string   `json:"sha"`
}

func runAgents(_ context.Context, e *env, args []string) error {
	h, asJSON, err := e.homeList("agents", args)
	if h == nil {
		return err
	}
	// With validation problems the valid agents are still listed; the problems follow as the error.
	agents := h.Agents()
	if asJSON {
		rows := make([]agentRow, 0, len(agents))
		for _, ag := range agents {
			s := ag.Sampling
			rows = append(rows, agentRow{ag.Name, ag.Model, ag.Persona, ag.Description, s.Temperature, s.TopP, s.TopK,
				s.Seed, ag.MaxTokens, ag.Tools, ag.Memory, ag.Source, ag.SHA})
		}
		if perr := printJSON(e.Out, rows); perr != nil {
			return perr
		}
		return err
	}
	tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMODEL\tPERSONA\tDESCRIPTION")
	for _, ag := range agents {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ag.Name, ag.Model, dash(ag.Persona), clip(ag.Description, 70))
	}
	if ferr := tw.Flush(); ferr != nil {
		return ferr
	}
	return err
}

// clip shortens s to n runes on one line, with an ellipsis when cut.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return dash(s)
}

// homeList parses the arguments of `NAME list [--json]` and loads the home. With validation
// problems it returns the valid part of the home and the problems as err, so listings show what is
// valid and then fail; without a home it returns nil and the error.
func (e *env) homeList(name string, args []string) (*home.Home, bool, error) {
	fs := e.flagSet(name, "list")
	asJSON := fs.Bool("json", false, "print JSON")
	args, err := parse(fs, args)
	if err != nil {
		return nil, false, err
	}
	if len(args) > 1 || (len(args) == 1 && args[0] != "list") {
		return nil, false, fmt.Errorf("%w: expected '%s list'", errUsage, name)
	}
	a, err := e.app(config.Flags{})
	if err != nil {
		return nil, false, err
	}
	defer a.Close()
	h, err := a.Home()
	return h, *asJSON, err
}
