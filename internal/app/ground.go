package app

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/home"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/memory/ground"
	"github.com/seance-dev/seance/internal/team"
)

// groundAgent wraps an agent's model so that it answers from the memory with cited sources
// (internal/memory/ground). The agent's memory: entries are its scopes: "*" for the whole memory, or
// absolute paths whose sources (files, or files under folders) it may read.
func (a *App) groundAgent(ctx context.Context, m llm.Model, ag *team.Agent) (llm.Model, error) {
	var scopes []string
	for _, s := range ag.Memory {
		if s != "*" && !filepath.IsAbs(s) {
			return nil, fault.New(fault.Invalid, "agent %q (%s): memory: %q is neither * nor an absolute path", ag.Name, ag.Source, s)
		}
		scopes = append(scopes, s)
	}
	store, err := a.groundStore(ctx)
	if err != nil {
		return nil, err
	}
	return ground.New(m, ground.Options{Store: store, Scopes: scopes})
}

// groundStore returns the memory store grounded agents share, opening it on first use; Close closes
// it.
func (a *App) groundStore(ctx context.Context) (MemoryStore, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, fault.New(fault.Internal, "app is closed")
	}
	if a.groundMem == nil {
		s, err := a.openMemoryStore(ctx)
		if err != nil {
			return nil, err
		}
		a.groundMem = s
	}
	return a.groundMem, nil
}

// groundedAgent returns the agent called name as a model when its front matter has memory:, so a
// grounded agent is served on its own (a team's answer does not carry the grounding of its members);
// ok is false for other names. The agent's system prompt, sampling and max_tokens apply as they do in
// a team.
func (a *App) groundedAgent(ctx context.Context, name string) (m llm.Model, ok bool, err error) {
	h, _ := a.loadHome()
	if h == nil {
		return nil, false, nil
	}
	ag, found := h.Agent(name)
	if !found || len(ag.Memory) == 0 {
		return nil, false, nil
	}
	inner, spec, err := a.resolver(h)(ctx, name)
	if err != nil {
		return nil, true, err
	}
	return agentModel{inner: inner, agent: *spec}, true, nil
}

// groundedAgentInfos lists the home's grounded agents as models.
func (a *App) groundedAgentInfos() []llm.Info {
	h, _ := a.loadHome()
	if h == nil {
		return nil
	}
	return agentInfos(h)
}

func agentInfos(h *home.Home) []llm.Info {
	var out []llm.Info
	for _, ag := range h.Agents() {
		if len(ag.Memory) > 0 {
			out = append(out, llm.Info{ID: ag.Name, Backend: "agent", Architecture: "grounded", Source: "home"})
		}
	}
	return out
}

// agentModel is an agent served on its own: its system prompt first, its sampling over the
// request's, its max_tokens.
type agentModel struct {
	inner llm.Model
	agent team.Agent
}

// Chat runs the agent's model on req with the agent's settings.
func (m agentModel) Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
	r := *req
	if sys := strings.TrimSpace(m.agent.System); sys != "" {
		msgs := make([]chat.Message, 0, len(req.Messages)+1)
		if len(req.Messages) > 0 && req.Messages[0].Role == chat.System {
			first := req.Messages[0]
			if strings.TrimSpace(first.Content) != "" {
				sys += "\n\n" + first.Content
			}
			first.Content = sys
			msgs = append(append(msgs, first), req.Messages[1:]...)
		} else {
			msgs = append(append(msgs, chat.Message{Role: chat.System, Content: sys}), req.Messages...)
		}
		r.Messages = msgs
	}
	s, top := &r.Sampling, m.agent.Sampling
	for _, f := range []struct{ dst, src **float64 }{
		{&s.Temperature, &top.Temperature}, {&s.TopP, &top.TopP}, {&s.MinP, &top.MinP},
		{&s.RepeatPenalty, &top.RepeatPenalty}, {&s.PresencePenalty, &top.PresencePenalty},
		{&s.FrequencyPenalty, &top.FrequencyPenalty},
	} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	if top.TopK != nil {
		s.TopK = top.TopK
	}
	if top.Seed != nil {
		s.Seed = top.Seed
	}
	if m.agent.MaxTokens > 0 {
		r.MaxTokens = m.agent.MaxTokens
	}
	return m.inner.Chat(ctx, &r, stream)
}
