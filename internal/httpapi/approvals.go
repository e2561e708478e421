package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/seance-dev/seance/internal/fault"
)

// ApprovalSource is the optional source of the requests that wait for a person: tool calls whose
// policy mode is ask, and capabilities agents asked for. Only a person decides them; the server
// authenticates who.
type ApprovalSource interface {
	// Approvals returns the pending requests, oldest first. When none is pending and wait > 0, it
	// blocks until one arrives, wait has passed or ctx ends, and then returns what is pending (possibly
	// nothing, with a nil error).
	Approvals(ctx context.Context, wait time.Duration) ([]Approval, error)
	// Approval returns request id, pending or decided. Unknown ids are fault.NotFound.
	Approval(ctx context.Context, id string) (Approval, error)
	// Decide grants or denies request id and returns it decided. Unknown ids are fault.NotFound; a
	// request decided before is an error wrapping ErrDecided.
	Decide(ctx context.Context, id string, d Decision) (Approval, error)
}

// ErrDecided is wrapped by ApprovalSource.Decide's error for a request that was already decided; the
// API answers it with 409.
var ErrDecided = errors.New("request already decided")

// Decision is a person's decision on one request.
type Decision struct {
	Grant bool
	// By names who decided: the authenticated key's fingerprint (never the key), with the name the
	// client gave, if any.
	By string
	// Note is the person's note, passed to the agent on a denial.
	Note string
}

// Approval is a request as the API shows it.
type Approval struct {
	ID     string `json:"id"`
	Object string `json:"object"` // always "approval"
	Agent  string `json:"agent"`
	Run    string `json:"run,omitempty"`
	// Capability is what the agent asks for; kind "call" is a one-time approval of one tool call,
	// whose value describes the call.
	Capability ApprovalCapability `json:"capability"`
	Reason     string             `json:"reason,omitempty"`
	// Status is pending, granted or denied.
	Status    string `json:"status"`
	Created   int64  `json:"created"`
	Decided   int64  `json:"decided,omitempty"`
	DecidedBy string `json:"decided_by,omitempty"`
	Note      string `json:"note,omitempty"`
}

// ApprovalCapability is the capability of an Approval.
type ApprovalCapability struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// approvalList is the response of GET /v1/approvals.
type approvalList struct {
	Object string     `json:"object"`
	Data   []Approval `json:"data"`
}

// approvalBody is the body of POST /v1/approvals/{id}.
type approvalBody struct {
	Decision string `json:"decision"`
	Note     string `json:"note"`
	// By is the name the person gives; it is recorded beside the key's fingerprint, not instead of it.
	By string `json:"by"`
}

// Limits of the approval endpoints.
const (
	maxApprovalBody = 64 << 10
	maxApprovalWait = 5 * time.Minute
	maxNoteLen      = 2000
	maxByLen        = 64
)

// approvalCaller is who calls an approval endpoint.
type approvalCaller struct {
	id        string // fingerprint of the key, or the remote host when no key was checked
	canDecide bool
}

// approvalAuth authenticates a call of an approval endpoint. Listing needs what every route needs (an
// API key when keys are configured) or an approver key; deciding needs an approver key when approver
// keys are configured, and otherwise what listing needs.
func (s *Server) approvalAuth(w http.ResponseWriter, r *http.Request) (approvalCaller, error) {
	token, hasToken := bearer(r)
	approver := false
	if hasToken && len(s.approverKeys) > 0 {
		got := sha256.Sum256([]byte(token))
		match := 0
		for _, k := range s.approverKeys {
			match |= subtle.ConstantTimeCompare(got[:], k[:])
		}
		approver = match == 1
	}
	general := s.authorized(r)
	if !general && !approver {
		w.Header().Set("WWW-Authenticate", `Bearer realm="seance"`)
		return approvalCaller{}, fault.New(fault.Unauthorized, "missing or invalid API key: send Authorization: Bearer <key>")
	}
	c := approvalCaller{canDecide: approver || len(s.approverKeys) == 0}
	if hasToken && (approver || len(s.keys) > 0) {
		c.id = KeyFingerprint(token)
	} else {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		c.id = "no key, from " + host
	}
	return c, nil
}

// KeyFingerprint names an API key without revealing it: "key:" and the first 12 hex digits of its
// SHA-256.
func KeyFingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "key:" + hex.EncodeToString(sum[:])[:12]
}

// bearer returns the request's bearer token.
func bearer(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(auth, "bearer ")
	}
	token = strings.TrimSpace(token)
	return token, ok && token != ""
}

func (s *Server) approvalSource() (ApprovalSource, error) {
	if s.opts.Approvals == nil {
		return nil, fault.New(fault.NotFound, "this server runs no tools, so nothing waits for approval (start it with 'seance serve --workspace DIR')")
	}
	return s.opts.Approvals, nil
}

// listApprovals serves GET /v1/approvals: the pending requests, oldest first. With ?wait=SECONDS
// (at most 300) and nothing pending, it answers when a request arrives or the wait is over.
func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.approvalAuth(w, r); err != nil {
		return err
	}
	src, err := s.approvalSource()
	if err != nil {
		return err
	}
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(secs) || secs < 0 || secs > maxApprovalWait.Seconds() {
			return fault.Param("wait", "wait %q: want a number of seconds from 0 to %d", v, int(maxApprovalWait.Seconds()))
		}
		wait = time.Duration(secs * float64(time.Second))
	}
	list, err := src.Approvals(r.Context(), wait)
	if err != nil {
		return err
	}
	if list == nil {
		list = []Approval{}
	}
	writeJSON(w, http.StatusOK, approvalList{Object: "list", Data: list})
	return nil
}

// getApproval serves GET /v1/approvals/{id}.
func (s *Server) getApproval(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.approvalAuth(w, r); err != nil {
		return err
	}
	src, err := s.approvalSource()
	if err != nil {
		return err
	}
	a, err := src.Approval(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// decideApproval serves POST /v1/approvals/{id} with {"decision":"grant"|"deny","note":...,"by":...}.
func (s *Server) decideApproval(w http.ResponseWriter, r *http.Request) error {
	caller, err := s.approvalAuth(w, r)
	if err != nil {
		return err
	}
	if !caller.canDecide {
		return fault.New(fault.Forbidden, "this key may list approval requests but not decide them (serve.approver_keys)")
	}
	src, err := s.approvalSource()
	if err != nil {
		return err
	}
	body, err := decodeApprovalBody(w, r)
	if err != nil {
		return err
	}
	d := Decision{Grant: body.Decision == "grant", By: caller.id, Note: body.Note}
	if body.By != "" {
		d.By = body.By + " (" + caller.id + ")"
	}
	a, err := src.Decide(r.Context(), r.PathValue("id"), d)
	if errors.Is(err, ErrDecided) {
		return fault.Wrap(err, fault.Conflict, "%s", fault.Message(err))
	}
	if err != nil {
		return err
	}
	s.log.Info("approval decided", "id", a.ID, "agent", a.Agent, "run", a.Run, "status", a.Status, "by", a.DecidedBy)
	writeJSON(w, http.StatusOK, a)
	return nil
}

func decodeApprovalBody(w http.ResponseWriter, r *http.Request) (approvalBody, error) {
	var body approvalBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxApprovalBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return body, fault.New(fault.TooLarge, "request body is larger than %d bytes", maxApprovalBody)
		case errors.Is(err, io.EOF):
			return body, fault.Param("decision", `empty body: send {"decision": "grant"} or {"decision": "deny", "note": "why"}`)
		}
		return body, fault.Wrap(err, fault.Invalid, "invalid JSON body: %s", jsonProblem(err))
	}
	if dec.More() {
		return body, fault.New(fault.Invalid, "invalid JSON body: more than one value")
	}
	switch body.Decision {
	case "grant", "deny":
	default:
		return body, fault.Param("decision", `decision %q: want "grant" or "deny"`, body.Decision)
	}
	if len(body.Note) > maxNoteLen {
		return body, fault.Param("note", "note: at most %d bytes", maxNoteLen)
	}
	body.By = strings.TrimSpace(body.By)
	if len(body.By) > maxByLen || strings.IndexFunc(body.By, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return body, fault.Param("by", "by: at most %d printable characters", maxByLen)
	}
	return body, nil
}

// jsonProblem describes a JSON decoding error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s: want a %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed"
}
