// Package team runs councils of models: agents (a model with a persona and sampling) combined by
// patterns — route, vote, moa, debate, review — with bounded parallelism, budgets enforced during the
// run, events for every step, and compute accounting. A team is itself an llm.Model, so a member may
// be a team and a team can be served like any model.
//
// Specs (Agent, Team) are plain data; internal/home reads them from Markdown/YAML files in the seance
// home repository. team imports llm, chat, fault and golang.org/x/sync/errgroup.
//
// Running: New checks a Team's parameters (RouteParams, VoteParams, MoAParams, DebateParams,
// ReviewParams, decoded from Team.Params) and returns a *Model; its Chat runs the pattern, calling
// members through a Resolver. Members run in parallel where the pattern allows (at most
// Budget.Parallel at once); the token and wall-time budgets are enforced while members run — tokens are
// counted from streamed deltas and corrected from each call's usage, and when a budget runs out the
// outstanding calls are canceled and the pattern answers with what it has, marked partial. A failed
// member is reported in Result.Reasons and the pattern goes on without it where it can. Every step is
// published as an Event (Run.Subscribe) and recorded in the Result, the run's JSON transcript.
package team

import (
	"encoding/json"
	"time"

	"github.com/seance-dev/seance/internal/chat"
)

// Agent is a model with a role: its system prompt, persona, sampling and what it may use.
type Agent struct {
	// Name identifies the agent within a home ([a-z0-9][a-z0-9_-]*).
	Name string
	// Model is the model reference (alias, path, or URL) the agent runs on.
	Model string
	// Description says what the agent is for; routers show it to the model router.
	Description string
	// Persona is a short label shown in debates ("utilitarian").
	Persona string
	// System is the system prompt (the Markdown body of the agent file).
	System   string
	Sampling chat.Sampling
	// MaxTokens limits each of the agent's completions (0: the pattern's or backend's default).
	MaxTokens int
	// Tools the agent may request, by name.
	Tools []string
	// Memory scopes the agent may read.
	Memory []string
	// Source is the file the agent was read from and SHA the hash of its content (for transcripts).
	Source string
	SHA    string
}

// Pattern names how a team combines its members.
type Pattern string

// The patterns.
const (
	Route  Pattern = "route"
	Vote   Pattern = "vote"
	MoA    Pattern = "moa"
	Debate Pattern = "debate"
	Review Pattern = "review"
)

// Team is a named combination of members (agents or other teams) under a pattern.
type Team struct {
	Name        string
	Description string
	Pattern     Pattern
	// Members name agents or teams, in order. Their role in the pattern is set by Params.
	Members []string
	// Params are the pattern's parameters as JSON, decoded by the pattern (see the pattern's
	// Params type) — e.g. {"samples": 5, "extract": "number"} for vote.
	Params json.RawMessage
	// Budget bounds a run of the team.
	Budget Budget
	Source string
	SHA    string
}

// Budget bounds a run. Zero fields are unlimited.
type Budget struct {
	// Tokens bounds prompt plus completion tokens over all members.
	Tokens int
	// Wall bounds the wall time of the whole run.
	Wall time.Duration
	// MemberTimeout bounds each member call.
	MemberTimeout time.Duration
	// Parallel bounds how many member calls run at once (default 4).
	Parallel int
}
