package app

import (
	"context"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/httpapi"
	"github.com/seance-dev/seance/internal/policy"
)

// approvalSource serves the tool runtime's pending requests to the HTTP API (/v1/approvals): people
// decide them there while the agent's call waits in policy.Store.Wait.
type approvalSource struct{ a *App }

var _ httpapi.ApprovalSource = approvalSource{}

// approvalPoll is how often a long poll looks for a new request.
const approvalPoll = 100 * time.Millisecond

func (s approvalSource) store() (*policy.Store, error) {
	s.a.mu.Lock()
	t := s.a.tools
	s.a.mu.Unlock()
	if t == nil {
		return nil, fault.New(fault.NotFound, "this server runs no tools, so nothing waits for approval (start it with 'seance serve --workspace DIR')")
	}
	return t.Policies, nil
}

// Approvals returns the pending requests, waiting up to wait for one when there is none.
func (s approvalSource) Approvals(ctx context.Context, wait time.Duration) ([]httpapi.Approval, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(approvalPoll)
	defer tick.Stop()
	for {
		pending := st.Pending()
		if len(pending) > 0 || !time.Now().Before(deadline) {
			out := make([]httpapi.Approval, len(pending))
			for i, r := range pending {
				out[i] = wireApproval(r)
			}
			return out, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Approval returns request id.
func (s approvalSource) Approval(_ context.Context, id string) (httpapi.Approval, error) {
	st, err := s.store()
	if err != nil {
		return httpapi.Approval{}, err
	}
	r, err := st.Get(id)
	if err != nil {
		return httpapi.Approval{}, err
	}
	return wireApproval(r), nil
}

// Decide grants or denies request id through the policy store, which audits the decision (and
// commits a granted capability to the home).
func (s approvalSource) Decide(ctx context.Context, id string, d httpapi.Decision) (httpapi.Approval, error) {
	st, err := s.store()
	if err != nil {
		return httpapi.Approval{}, err
	}
	if r, err := st.Get(id); err != nil {
		return httpapi.Approval{}, err
	} else if r.Status != policy.Pending {
		return httpapi.Approval{}, decided(r)
	}
	var r policy.Request
	if d.Grant {
		r, err = st.Grant(ctx, id, d.By)
	} else {
		r, err = st.Deny(ctx, id, d.By, d.Note)
	}
	if err != nil {
		// Another person may have decided it between Get and here.
		if now, gerr := st.Get(id); gerr == nil && now.Status != policy.Pending && now.By != d.By {
			return httpapi.Approval{}, decided(now)
		}
		return httpapi.Approval{}, err
	}
	return wireApproval(r), nil
}

func decided(r policy.Request) error {
	if r.Status == policy.Expired {
		return fault.Wrap(httpapi.ErrDecided, fault.Invalid, "request %s expired (%s): its call was refused", r.ID, r.Note)
	}
	return fault.Wrap(httpapi.ErrDecided, fault.Invalid, "request %s was already %s by %s", r.ID, r.Status, r.By)
}

func wireApproval(r policy.Request) httpapi.Approval {
	out := httpapi.Approval{
		ID: r.ID, Object: "approval", Agent: r.Agent, Run: r.Run,
		Capability: httpapi.ApprovalCapability{Kind: r.Cap.Kind, Value: r.Cap.Value},
		Reason:     r.Reason, Status: string(r.Status), Created: r.Created.Unix(),
		DecidedBy: r.By, Note: r.Note,
	}
	if !r.Decided.IsZero() {
		out.Decided = r.Decided.Unix()
	}
	return out
}
