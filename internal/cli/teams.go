package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
)

func init() {
	commands["teams"] = command{summary: "list the teams of the seance home: teams list [--json]", run: runTeams}
}

// teamRow is a team as `seance teams list --json` prints it.
type teamRow struct {
	Name        string          `json:"name"`
	Pattern     string          `json:"pattern"`
	Members     []string        `json:"members"`
	Description string          `json:"description,omitempty"`
	Params      json.RawMessage `json:"params,omitempty"`
	Budget      budgetRow       `json:"budget"`
	Source      string          `json:"source"`
	SHA         string          `json:"sha"`
}

type budgetRow struct {
	Tokens        int    `json:"tokens,omitempty"`
	Wall          string `json:"wall,omitempty"`
	MemberTimeout string `json:"member_timeout,omitempty"`
	Parallel      int    `json:"parallel,omitempty"`
}

func runTeams(_ context.Context, e *env, args []string) error {
	h, asJSON, err := e.homeList("teams", args)
	if h == nil {
		return err
	}
	// With validation problems the valid teams are still listed; the problems follow as the error.
	teams := h.Teams()
	if asJSON {
		rows := make([]teamRow, 0, len(teams))
		for _, t := range teams {
			b := budgetRow{Tokens: t.Budget.Tokens, Parallel: t.Budget.Parallel}
			if t.Budget.Wall > 0 {
				b.Wall = t.Budget.Wall.String()
			}
			if t.Budget.MemberTimeout > 0 {
				b.MemberTimeout = t.Budget.MemberTimeout.String()
			}
			rows = append(rows, teamRow{t.Name, string(t.Pattern), t.Members, t.Description, t.Params, b, t.Source, t.SHA})
		}
		if perr := printJSON(e.Out, rows); perr != nil {
			return perr
		}
		return err
	}
	tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPATTERN\tMEMBERS\tDESCRIPTION")
	for _, t := range teams {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Pattern, strings.Join(t.Members, ","), clip(t.Description, 60))
	}
	if ferr := tw.Flush(); ferr != nil {
		return ferr
	}
	return err
}
