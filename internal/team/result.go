package team

import (
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
)

// Usage is the compute accounting of one member call or, summed, of a run.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// Wall is the wall time of the call (of all calls, summed, in a total); TTFT the time until the
	// call's first streamed delta.
	Wall time.Duration `json:"wall_ns"`
	TTFT time.Duration `json:"ttft_ns,omitempty"`
	// FLOPs is the backend's estimate (chat.Usage.FLOPs); 0 when it cannot know.
	FLOPs float64 `json:"flops,omitempty"`
	// Estimated is set when the backend reported no token counts and the completion tokens are the
	// number of streamed deltas.
	Estimated bool `json:"estimated,omitempty"`
}

// TotalTokens is PromptTokens + CompletionTokens.
func (u Usage) TotalTokens() int { return u.PromptTokens + u.CompletionTokens }

func (u Usage) add(v Usage) Usage {
	return Usage{
		PromptTokens:     u.PromptTokens + v.PromptTokens,
		CompletionTokens: u.CompletionTokens + v.CompletionTokens,
		Wall:             u.Wall + v.Wall,
		TTFT:             u.TTFT + v.TTFT,
		FLOPs:            u.FLOPs + v.FLOPs,
		Estimated:        u.Estimated || v.Estimated,
	}
}

// Call is the transcript of one member call: what the member was sent and what it answered.
type Call struct {
	// Step is the call's 1-based index in Result.Calls, in the order calls started.
	Step   int    `json:"step"`
	Member string `json:"member"`
	Role   string `json:"role"`
	Round  int    `json:"round,omitempty"`
	// Model is the model that answered, as the backend reported it (or the agent's model reference).
	Model string `json:"model,omitempty"`
	// Seed is the sampling seed sent, if any.
	Seed *int64 `json:"seed,omitempty"`
	// Input is every message the member was sent, its system prompt first.
	Input  []chat.Message    `json:"input"`
	Output string            `json:"output"`
	Finish chat.FinishReason `json:"finish,omitempty"`
	Usage  Usage             `json:"usage"`
	// Started is when the call began.
	Started time.Time `json:"started"`
	// Error and Code describe a failed call; Output then holds what was streamed before the failure.
	Error string     `json:"error,omitempty"`
	Code  fault.Code `json:"code,omitempty"`
	// Sub is the run of a member that is itself a team.
	Sub *Result `json:"sub,omitempty"`
}

// MemberRef records which definition a member was resolved to, for the transcript.
type MemberRef struct {
	Name string `json:"name"`
	// Kind is "agent", "team" or "model" (a model without an agent file).
	Kind   string `json:"kind"`
	Model  string `json:"model,omitempty"`
	Source string `json:"source,omitempty"`
	SHA    string `json:"sha,omitempty"`
	// Error is set when the member could not be resolved.
	Error string `json:"error,omitempty"`
}

// RouteInfo says how a route team chose its member.
type RouteInfo struct {
	Member string `json:"member"`
	// By is "rule", "router" or "fallback".
	By string `json:"by"`
	// Rule is the 0-based index of the matching rule (By "rule").
	Rule int `json:"rule,omitempty"`
	// Asks counts the router calls; Invalid holds the router's rejected answers.
	Asks    int      `json:"asks,omitempty"`
	Invalid []string `json:"invalid,omitempty"`
}

// Result is the complete record of a team run: everything needed to show, account and save it.
type Result struct {
	Run     string  `json:"run"`
	Team    string  `json:"team"`
	Pattern Pattern `json:"pattern"`
	Source  string  `json:"source,omitempty"`
	SHA     string  `json:"sha,omitempty"`
	// Members lists the definitions the members were resolved to.
	Members []MemberRef `json:"members"`
	// Input is the request's messages.
	Input []chat.Message `json:"input"`
	// Answer is the team's final answer; Finish why it ended.
	Answer string            `json:"answer"`
	Finish chat.FinishReason `json:"finish,omitempty"`
	// Partial is set when the answer was produced without some of the work the pattern asked for
	// (failed members, a budget cut); Reasons say what was missing.
	Partial bool     `json:"partial"`
	Reasons []string `json:"reasons,omitempty"`
	// Error and Code are set when the run produced no answer.
	Error string     `json:"error,omitempty"`
	Code  fault.Code `json:"code,omitempty"`
	Calls []Call     `json:"calls"`
	// Events are the run's events except member deltas (those are the calls' outputs).
	Events []Event `json:"events"`
	// Dropped counts event subscribers dropped for falling behind.
	Dropped int `json:"dropped,omitempty"`
	// Totals sums the usage of all calls (Wall there is the sum of the calls' wall times).
	Totals Usage `json:"totals"`
	// Wall is the wall time of the whole run; TTFT the time until the first delta reached the caller.
	Wall     time.Duration `json:"wall_ns"`
	TTFT     time.Duration `json:"ttft_ns,omitempty"`
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	// Pattern-specific outcomes.
	Route    *RouteInfo `json:"route,omitempty"`
	Tally    *Tally     `json:"tally,omitempty"`
	Rounds   int        `json:"rounds,omitempty"`
	Approved *bool      `json:"approved,omitempty"`
}

// Response returns the team's answer as a chat completion: the answer, with Usage summing all member
// calls' tokens and FLOPs, Duration the run's wall time and TimeToFirstToken the caller's.
func (r *Result) Response() *chat.Response {
	finish := r.Finish
	if finish == "" {
		finish = chat.FinishStop
	}
	return &chat.Response{
		Model:        r.Team,
		Message:      chat.Message{Role: chat.Assistant, Content: r.Answer},
		FinishReason: finish,
		Usage: chat.Usage{
			PromptTokens:     r.Totals.PromptTokens,
			CompletionTokens: r.Totals.CompletionTokens,
			Duration:         r.Wall,
			TimeToFirstToken: r.TTFT,
			FLOPs:            r.Totals.FLOPs,
		},
	}
}
