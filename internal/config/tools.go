package config

import (
	"fmt"
	"time"
)

// Tools configures the tool runtime of agents that use tools (`seance run --workspace`, `seance serve
// --workspace`).
type Tools struct {
	// AskTimeout bounds how long a tool call whose policy mode is ask waits for a person's decision
	// (default 10m); an undecided call is refused.
	AskTimeout time.Duration `yaml:"ask_timeout"`
}

// DefaultAskTimeout is the default of tools.ask_timeout.
const DefaultAskTimeout = 10 * time.Minute

func (t *Tools) fillDefaults() {
	if t.AskTimeout == 0 {
		t.AskTimeout = DefaultAskTimeout
	}
}

// validate appends the tools section's problems to errs.
func (t *Tools) validate(errs []string) []string {
	if t.AskTimeout < time.Second || t.AskTimeout > 24*time.Hour {
		errs = append(errs, fmt.Sprintf("tools.ask_timeout %s: must be between 1s and 24h", t.AskTimeout))
	}
	return errs
}
