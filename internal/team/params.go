package team

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"

	"github.com/seance-dev/seance/internal/fault"
)

// RouteParams are the parameters of a route team.
type RouteParams struct {
	// Rules are tried in order on the last user message; the first that matches picks its member.
	Rules []RouteRule `json:"rules"`
	// Router, when set, is the member that chooses among the others when no rule matches.
	Router string `json:"router"`
	// Choices are the members the router may pick (default: every member but the router).
	Choices []string `json:"choices"`
	// Fallback answers when no rule matches and the router fails or keeps answering invalid names
	// (default: the first choice).
	Fallback string `json:"fallback"`
	// Retries is how many times the router is re-asked after an invalid choice (default 2; -1 for none).
	Retries int `json:"retries"`
}

// RouteRule sends a message to Member when it contains one of Keywords (case-insensitive, whole
// words) or matches Regex.
type RouteRule struct {
	Member   string   `json:"member"`
	Keywords []string `json:"keywords"`
	Regex    string   `json:"regex"`

	re *regexp.Regexp
}

// VoteParams are the parameters of a vote team.
type VoteParams struct {
	// Samples is the number of samples (default 5); sample i goes to member i mod len(Members).
	Samples int `json:"samples"`
	// Extract is the answer extractor (default "exact").
	Extract Extract `json:"extract"`
	// Weights, when set, weigh each member's ballots (default 1): a weighted vote.
	Weights map[string]float64 `json:"weights"`
	// Seed is the base seed: sample i is sent seed Seed+i (default: the request's seed, else 0).
	Seed *int64 `json:"seed"`
}

// MoAParams are the parameters of a mixture-of-agents team.
type MoAParams struct {
	// Layers is the number of proposer layers (default 1).
	Layers int `json:"layers"`
	// Aggregator synthesises the last layer's answers (default: the last member).
	Aggregator string `json:"aggregator"`
	// Proposers answer in each layer (default: every member but the aggregator).
	Proposers []string `json:"proposers"`
	// SelfMoA samples the first proposer Samples times per layer instead of mixing proposers.
	SelfMoA bool `json:"self_moa"`
	// Samples is the number of samples per layer under SelfMoA (default 4).
	Samples int `json:"samples"`
	// Seed is the base seed of Self-MoA samples (sample i of a layer gets Seed + layer*Samples + i).
	Seed *int64 `json:"seed"`
}

// DebateParams are the parameters of a debate team.
type DebateParams struct {
	// Debaters argue (default: every member but the moderator).
	Debaters []string `json:"debaters"`
	// Moderator, when set, sums up the debate and gives the answer; without one a vote over the last
	// round's answers decides.
	Moderator string `json:"moderator"`
	// Rounds is the maximum number of rounds (default 2).
	Rounds int `json:"rounds"`
	// Extract is the extractor for the consensus check and the vote (default "exact").
	Extract Extract `json:"extract"`
	// NoEarlyStop runs every round even when all debaters already agree.
	NoEarlyStop bool `json:"no_early_stop"`
}

// ReviewParams are the parameters of a review team.
type ReviewParams struct {
	// Generator writes the first draft (default: the first member).
	Generator string `json:"generator"`
	// Reviewer critiques each draft and gives a verdict (default: the second member).
	Reviewer string `json:"reviewer"`
	// Reviser rewrites a draft after a REVISE verdict (default: the third member, else the generator).
	Reviser string `json:"reviser"`
	// Rounds is the maximum number of reviews (default 3). After a REVISE in the last round the draft
	// is still revised once, and the result says it was not approved.
	Rounds int `json:"rounds"`
}

// decodeParams decodes raw strictly into v; empty raw leaves v as is.
func decodeParams(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.Decode(new(json.RawMessage)) != io.EOF {
		return errors.New("trailing data after the parameters object")
	}
	return nil
}

// plan holds a team's decoded, validated parameters.
type plan struct {
	route  *RouteParams
	vote   *VoteParams
	moa    *MoAParams
	debate *DebateParams
	review *ReviewParams
}

func paramErr(t *Team, format string, args ...any) error {
	return fault.New(fault.Invalid, "team %q (%s): params: %s", t.Name, t.Pattern, fmt.Sprintf(format, args...))
}

// compile decodes and checks t's parameters against its members.
func compile(t *Team) (*plan, error) {
	if len(t.Members) == 0 {
		return nil, fault.New(fault.Invalid, "team %q has no members", t.Name)
	}
	isMember := func(field, name string) error {
		if !slices.Contains(t.Members, name) {
			return paramErr(t, "%s: %q is not a member (members: %v)", field, name, t.Members)
		}
		return nil
	}
	others := func(except string) []string {
		var out []string
		for _, m := range t.Members {
			if m != except {
				out = append(out, m)
			}
		}
		return out
	}
	p := &plan{}
	var err error
	switch t.Pattern {
	case Route:
		r := &RouteParams{}
		if err = decodeParams(t.Params, r); err != nil {
			return nil, paramErr(t, "%v", err)
		}
		for i := range r.Rules {
			rule := &r.Rules[i]
			if err := isMember(fmt.Sprintf("rules[%d].member", i), rule.Member); err != nil {
				return nil, err
			}
			if len(rule.Keywords) == 0 && rule.Regex == "" {
				return nil, paramErr(t, "rules[%d]: needs keywords or regex", i)
			}
			if rule.Regex != "" {
				if rule.re, err = regexp.Compile(rule.Regex); err != nil {
					return nil, paramErr(t, "rules[%d].regex: %v", i, err)
				}
			}
		}
		if r.Router != "" {
			if err := isMember("router", r.Router); err != nil {
				return nil, err
			}
		}
		if len(r.Choices) == 0 {
			r.Choices = others(r.Router)
		}
		for i, c := range r.Choices {
			if err := isMember(fmt.Sprintf("choices[%d]", i), c); err != nil {
				return nil, err
			}
		}
		if len(r.Choices) == 0 {
			return nil, paramErr(t, "no member to route to")
		}
		if r.Fallback == "" {
			r.Fallback = r.Choices[0]
		} else if err := isMember("fallback", r.Fallback); err != nil {
			return nil, err
		}
		switch {
		case r.Retries == 0:
			r.Retries = 2
		case r.Retries < 0:
			r.Retries = 0
		}
		p.route = r
	case Vote:
		v := &VoteParams{}
		if err = decodeParams(t.Params, v); err != nil {
			return nil, paramErr(t, "%v", err)
		}
		if v.Samples == 0 {
			v.Samples = 5
		}
		if v.Samples < 1 || v.Samples > 1000 {
			return nil, paramErr(t, "samples: %d is outside 1..1000", v.Samples)
		}
		if v.Extract == "" {
			v.Extract = ExtractExact
		}
		if !v.Extract.valid() {
			return nil, paramErr(t, "extract: %q is not one of number, choice, code, exact", v.Extract)
		}
		for name, w := range v.Weights {
			if err := isMember("weights", name); err != nil {
				return nil, err
			}
			if w <= 0 {
				return nil, paramErr(t, "weights[%q]: %v must be positive", name, w)
			}
		}
		p.vote = v
	case MoA:
		m := &MoAParams{}
		if err = decodeParams(t.Params, m); err != nil {
			return nil, paramErr(t, "%v", err)
		}
		if m.Layers == 0 {
			m.Layers = 1
		}
		if m.Layers < 1 || m.Layers > 16 {
			return nil, paramErr(t, "layers: %d is outside 1..16", m.Layers)
		}
		if m.Aggregator == "" {
			m.Aggregator = t.Members[len(t.Members)-1]
		} else if err := isMember("aggregator", m.Aggregator); err != nil {
			return nil, err
		}
		if len(m.Proposers) == 0 {
			m.Proposers = others(m.Aggregator)
		}
		if len(m.Proposers) == 0 {
			// A one-member MoA proposes and aggregates with the same member.
			m.Proposers = []string{m.Aggregator}
		}
		for i, pr := range m.Proposers {
			if err := isMember(fmt.Sprintf("proposers[%d]", i), pr); err != nil {
				return nil, err
			}
		}
		if m.SelfMoA && m.Samples == 0 {
			m.Samples = 4
		}
		if m.Samples < 0 || m.Samples > 256 {
			return nil, paramErr(t, "samples: %d is outside 1..256", m.Samples)
		}
		p.moa = m
	case Debate:
		d := &DebateParams{}
		if err = decodeParams(t.Params, d); err != nil {
			return nil, paramErr(t, "%v", err)
		}
		if d.Moderator != "" {
			if err := isMember("moderator", d.Moderator); err != nil {
				return nil, err
			}
		}
		if len(d.Debaters) == 0 {
			d.Debaters = others(d.Moderator)
		}
		for i, db := range d.Debaters {
			if err := isMember(fmt.Sprintf("debaters[%d]", i), db); err != nil {
				return nil, err
			}
		}
		if len(d.Debaters) == 0 {
			return nil, paramErr(t, "no debaters")
		}
		if d.Rounds == 0 {
			d.Rounds = 2
		}
		if d.Rounds < 1 || d.Rounds > 32 {
			return nil, paramErr(t, "rounds: %d is outside 1..32", d.Rounds)
		}
		if d.Extract == "" {
			d.Extract = ExtractExact
		}
		if !d.Extract.valid() {
			return nil, paramErr(t, "extract: %q is not one of number, choice, code, exact", d.Extract)
		}
		p.debate = d
	case Review:
		r := &ReviewParams{}
		if err = decodeParams(t.Params, r); err != nil {
			return nil, paramErr(t, "%v", err)
		}
		if r.Generator == "" {
			r.Generator = t.Members[0]
		}
		if r.Reviewer == "" {
			if len(t.Members) < 2 {
				return nil, paramErr(t, "review needs a generator and a reviewer")
			}
			r.Reviewer = t.Members[1]
		}
		if r.Reviser == "" {
			r.Reviser = r.Generator
			if len(t.Members) > 2 {
				r.Reviser = t.Members[2]
			}
		}
		for field, name := range map[string]string{"generator": r.Generator, "reviewer": r.Reviewer, "reviser": r.Reviser} {
			if err := isMember(field, name); err != nil {
				return nil, err
			}
		}
		if r.Rounds == 0 {
			r.Rounds = 3
		}
		if r.Rounds < 1 || r.Rounds > 32 {
			return nil, paramErr(t, "rounds: %d is outside 1..32", r.Rounds)
		}
		p.review = r
	default:
		return nil, fault.New(fault.Invalid, "team %q: unknown pattern %q (want route, vote, moa, debate or review)", t.Name, t.Pattern)
	}
	return p, nil
}

// Validate checks t's pattern and parameters against its members without running anything (for
// loaders such as internal/home). Errors are fault.Invalid and name the team and the parameter.
func Validate(t Team) error {
	_, err := compile(&t)
	return err
}
