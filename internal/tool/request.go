package tool

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/policy"
)

// RequestTool is the tool through which an agent asks a person for a capability its policy lacks. Every
// Runtime offers it. Its call is itself the question to a person, so the runtime runs it rather than
// the policy's ask step: a policy can deny the tool (tools: {request_capability: deny}); auto and ask
// behave alike. A grant is the policy store's (committed, audited, kept for later calls of the agent)
// and never reaches past the runtime's bounds.
const RequestTool = "request_capability"

// requestKinds are the capabilities an agent may ask for.
var requestKinds = []string{policy.KindRead, policy.KindWrite, policy.KindCommand, policy.KindLanguage,
	policy.KindHost, policy.KindMemory, policy.KindTool}

type requestTool struct{}

type requestArgs struct {
	Kind   string `json:"kind"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

func (requestTool) Spec() chat.ToolSpec {
	kinds, _ := json.Marshal(requestKinds)
	return chat.ToolSpec{
		Name: RequestTool,
		Description: "Ask a person to grant a capability your policy lacks, when a tool call was refused for it " +
			"(the refusal names what is missing). The call waits for the person's decision. kind: read or write " +
			"(a workspace path or pattern such as src/**), command (argv[0]), language (run_code), host " +
			"(name or name:port), memory (read or write), tool (a tool name, to run without asking each time). " +
			"Say why in reason.",
		Parameters: json.RawMessage(`{"type":"object","properties":{` +
			`"kind":{"type":"string","enum":` + string(kinds) + `},` +
			`"value":{"type":"string","minLength":1,"maxLength":512},` +
			`"reason":{"type":"string","minLength":1,"maxLength":1000}},` +
			`"required":["kind","value","reason"],"additionalProperties":false}`),
	}
}

// Plan needs nothing: the request is decided by a person, not by the policy.
func (requestTool) Plan(json.RawMessage) (policy.Call, error) { return policy.Call{}, nil }

// Call is never reached: Runtime.Call runs requests itself.
func (requestTool) Call(context.Context, Env, json.RawMessage) (Result, error) {
	return Result{}, fault.New(fault.Internal, "%s runs only through a tool runtime", RequestTool)
}

// allows reports whether pol already gives c; a tool is given when it runs without asking.
func allows(pol policy.Policy, c policy.Capability) bool {
	if c.Kind == policy.KindTool {
		return pol.Mode(c.Value) == policy.Auto
	}
	return pol.Allows(c)
}

// request runs a request_capability call: a person decides, through the policy store.
func (rt *Runtime) request(ctx context.Context, agent, run string, args json.RawMessage, rec *Record,
	refuse func(string, ...any) (Record, error), finish func() (Record, error)) (Record, error) {
	if pol := rt.Policy(agent); pol.Mode(RequestTool) == policy.Deny {
		rec.Verdict = policy.Refuse
		rec.Reason = fmt.Sprintf("tool %s is denied to agent %s", RequestTool, agent)
		return refuse("refused by policy: %s", rec.Reason)
	}
	var a requestArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return refuse("invalid arguments for %s: %v", RequestTool, err)
	}
	c := policy.Capability{Kind: a.Kind, Value: a.Value}
	if allows(rt.Policy(agent), c) {
		rec.Verdict, rec.ApprovedBy, rec.Reason = policy.Allow, "policy", "already allowed"
		rec.Result = Result{Content: fmt.Sprintf("your policy already allows %s; retry the call", c)}
		return finish()
	}
	got, err := rt.ask(ctx, agent, run, c, a.Reason)
	switch {
	case ctx.Err() != nil:
		return *rec, fmt.Errorf("tool %s: waiting for a decision: %w", RequestTool, ctx.Err())
	case err != nil:
		rec.Verdict, rec.Reason = policy.Refuse, fault.Message(err)
		return refuse("refused: %s", fault.Message(err))
	case got.Status != policy.Granted:
		rec.Verdict, rec.Reason = policy.Refuse, fmt.Sprintf("denied by %s (request %s)", got.By, got.ID)
		note := ""
		if got.Note != "" {
			note = ": " + got.Note
		}
		return refuse("%s did not grant %s%s", got.By, c, note)
	}
	rec.Verdict, rec.ApprovedBy = policy.Allow, got.By
	rec.Reason = fmt.Sprintf("granted by %s (request %s)", got.By, got.ID)
	if !allows(rt.Policy(agent), c) {
		rec.Result = Result{Content: fmt.Sprintf("%s granted %s, but the policy of the team you work in still does not allow it", got.By, c), IsError: true}
		return finish()
	}
	rec.Result = Result{Content: fmt.Sprintf("%s granted %s; retry the call", got.By, c)}
	return finish()
}

// ask records a request for c, tells the approver and waits for a person's decision, at most
// AskTimeout. A request that could not be made is an error with a zero Request; an undecided one is
// expired (policy.Store.Expire) and an error with the request.
func (rt *Runtime) ask(ctx context.Context, agent, run string, c policy.Capability, reason string) (policy.Request, error) {
	req, err := rt.opts.Policies.Request(ctx, agent, run, c, reason)
	if err != nil {
		return policy.Request{}, fault.Wrap(err, fault.CodeOf(err), "the request could not be made: %s", fault.Message(err))
	}
	if rt.opts.Approver != nil {
		rt.opts.Approver(ctx, req)
	}
	wctx, cancel := context.WithTimeout(ctx, rt.opts.AskTimeout)
	defer cancel()
	got, err := rt.opts.Policies.Wait(wctx, req.ID)
	if err == nil {
		return got, nil
	}
	// Nobody decided in time, or the caller went away: the request ends here, so that it leaves the
	// pending list and a late decision is refused rather than granting what nobody waits for. A
	// decision that arrived meanwhile stands.
	why := fmt.Sprintf("no decision within %s", rt.opts.AskTimeout)
	if ctx.Err() != nil {
		why = "the run stopped waiting"
	}
	if late, xerr := rt.opts.Policies.Expire(context.WithoutCancel(ctx), req.ID, why); xerr == nil &&
		late.Status != policy.Expired && ctx.Err() == nil {
		return late, nil
	}
	return req, fault.Wrap(err, fault.Timeout, "no person decided within %s (request %s)", rt.opts.AskTimeout, req.ID)
}
