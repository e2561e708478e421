package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seance-dev/seance/internal/config"
)

func init() {
	commands["approvals"] = command{summary: "list, grant or deny the requests agents of a running 'seance serve' wait on", run: runApprovals}
}

// approval is a request as GET /v1/approvals shows it (docs/API.md).
type approval struct {
	ID         string `json:"id"`
	Agent      string `json:"agent"`
	Run        string `json:"run,omitempty"`
	Capability struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"capability"`
	Reason    string `json:"reason,omitempty"`
	Status    string `json:"status"`
	Created   int64  `json:"created"`
	Decided   int64  `json:"decided,omitempty"`
	DecidedBy string `json:"decided_by,omitempty"`
	Note      string `json:"note,omitempty"`
}

func runApprovals(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("approvals", "list | show ID | grant ID | deny ID")
	server := fs.String("url", "", "the server's `URL` (default: http:// and config serve.addr)")
	key := fs.String("key", "", "API `key` to send (default: the first of config serve.approver_keys, else of serve.api_keys)")
	asJSON := fs.Bool("json", false, "print JSON")
	wait := fs.Int("wait", 0, "list: wait up to `SECONDS` (at most 300) for a request when none is pending")
	by := fs.String("by", "", "grant/deny: your `name`, recorded beside the key's fingerprint")
	note := fs.String("note", "", "deny: a `note` for the agent")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: expected 'approvals list', 'approvals show ID', 'approvals grant ID' or 'approvals deny ID'", errUsage)
	}
	cfg, err := e.config(config.Flags{})
	if err != nil {
		return err
	}
	c, err := newApprovalClient(cfg, *server, *key)
	if err != nil {
		return err
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "list":
		if len(rest) > 0 {
			return fmt.Errorf("%w: 'approvals list' takes no arguments", errUsage)
		}
		var list struct{ Data []approval }
		path := "approvals"
		if *wait > 0 {
			path += fmt.Sprintf("?wait=%d", *wait)
		}
		if err := c.do(ctx, http.MethodGet, path, nil, &list); err != nil {
			return err
		}
		if *asJSON {
			if list.Data == nil {
				list.Data = []approval{}
			}
			return printJSON(e.Out, list.Data)
		}
		if len(list.Data) == 0 {
			fmt.Fprintln(e.Err, "no request is waiting for a decision")
			return nil
		}
		tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAGENT\tRUN\tASKS FOR\tWAITING")
		for _, a := range list.Data {
			age := time.Since(time.Unix(a.Created, 0)).Round(time.Second)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Agent, a.Run, oneLine(a.Capability.Kind+" "+a.Capability.Value, 60), age)
		}
		return tw.Flush()
	case "show", "grant", "deny":
		if len(rest) != 1 {
			return fmt.Errorf("%w: expected 'approvals %s ID'", errUsage, verb)
		}
		id := url.PathEscape(rest[0])
		var a approval
		if verb == "show" {
			err = c.do(ctx, http.MethodGet, "approvals/"+id, nil, &a)
		} else {
			body := map[string]string{"decision": verb, "by": *by}
			if verb == "deny" {
				body["note"] = *note
			}
			err = c.do(ctx, http.MethodPost, "approvals/"+id, body, &a)
		}
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.Out, a)
		}
		fmt.Fprintf(e.Out, "%s: agent %s, run %s, asks for %s %s — %s", a.ID, a.Agent, a.Run, a.Capability.Kind, a.Capability.Value, a.Status)
		if a.DecidedBy != "" {
			fmt.Fprintf(e.Out, " by %s", a.DecidedBy)
		}
		if a.Note != "" {
			fmt.Fprintf(e.Out, " (%s)", a.Note)
		}
		fmt.Fprintln(e.Out)
		return nil
	}
	return fmt.Errorf("%w: unknown 'approvals %s'; use list, show, grant or deny", errUsage, verb)
}

// approvalClient talks to the approval endpoints of a running server.
type approvalClient struct {
	base string // ends in /v1/
	key  string
	http *http.Client
}

func newApprovalClient(cfg *config.Config, server, key string) (*approvalClient, error) {
	if server == "" {
		host, port, err := net.SplitHostPort(cfg.Serve.Addr)
		if err != nil {
			return nil, fmt.Errorf("config serve.addr %q: %w", cfg.Serve.Addr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1" // a server listening everywhere is reached on loopback
		}
		server = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: --url %q: want http://HOST:PORT", errUsage, server)
	}
	base := strings.TrimSuffix(u.String(), "/")
	base = strings.TrimSuffix(base, "/v1") + "/v1/"
	if key == "" {
		switch {
		case len(cfg.Serve.ApproverKeys) > 0:
			key = cfg.Serve.ApproverKeys[0].Reveal()
		case len(cfg.Serve.APIKeys) > 0:
			key = cfg.Serve.APIKeys[0].Reveal()
		}
	}
	// No overall timeout: a long poll (--wait) lasts up to 5 minutes; ctx (Ctrl-C) ends any request.
	return &approvalClient{base: base, key: key, http: &http.Client{}}, nil
}

// do sends a request with an optional JSON body and decodes the JSON answer into out. An error answer
// becomes an error holding the server's message.
func (c *approvalClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("is 'seance serve' running at %s? %w", c.base, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("read the answer of %s: %w", c.base+path, err)
	}
	if res.StatusCode != http.StatusOK {
		var env struct {
			Error struct {
				Message string `json:"message"`
				Code    string `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &env) == nil && env.Error.Message != "" {
			return fmt.Errorf("the server refused (%s, %s): %s", res.Status, env.Error.Code, env.Error.Message)
		}
		return fmt.Errorf("the server answered %s", res.Status)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the answer of %s is not what seance serves: %w", c.base+path, err)
	}
	return nil
}
