package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/ground"
	"github.com/seance-dev/seance/internal/openai"
)

func init() {
	commands["ask"] = command{summary: "ask a model one question and stream the answer", run: runAsk}
}

// askResult is the --json output of `seance ask`.
type askResult struct {
	Model        string        `json:"model"`
	Content      string        `json:"content"`
	ToolCalls    []jsonCall    `json:"tool_calls,omitempty"`
	FinishReason string        `json:"finish_reason"`
	Usage        jsonUsage     `json:"usage"`
	Logprobs     []jsonLogprob `json:"logprobs,omitempty"`
	// Grounding is set with --memory: the numbered sources and the citation check, in the shape
	// of the API's seance_grounding extension.
	Grounding *openai.Grounding `json:"grounding,omitempty"`
}

type jsonCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type jsonUsage struct {
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	DurationMS       float64 `json:"duration_ms"`
	TTFTMS           float64 `json:"ttft_ms"`
	FLOPs            float64 `json:"flops"`
	TruncatedTokens  int     `json:"truncated_tokens,omitempty"`
}

type jsonLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
}

func runAsk(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("ask", "[--memory [--k N]] PROMPT... (or - to read stdin)")
	model := fs.String("model", "", "model: an alias, a name from 'seance models', a path or a URL (default: config default_model)")
	system := fs.String("system", "", "system prompt")
	asJSON := fs.Bool("json", false, "print one JSON object instead of streaming text")
	maxTokens := fs.Int("max-tokens", 256, "maximum tokens to generate")
	temp := fs.Float64("temperature", -1, "sampling temperature (0 = greedy; default: the backend's)")
	topP := fs.Float64("top-p", -1, "nucleus sampling (default: the backend's)")
	topK := fs.Int("top-k", -1, "top-k sampling (default: the backend's)")
	seed := fs.Int64("seed", -1, "random seed (same seed, same output with the embedded engine)")
	var stops multiFlag
	fs.Var(&stops, "stop", "stop sequence (repeatable)")
	logprobs := fs.Int("logprobs", 0, "report the log-probability of each token and this many alternatives (JSON only)")
	quiet := fs.Bool("quiet", false, "do not print the usage line")
	truncate := fs.Bool("truncate", false, "drop the oldest messages if the prompt does not fit the context (reported)")
	threads := fs.Int("threads", 0, "threads for the embedded engine (default: config)")
	useMemory := fs.Bool("memory", false, "answer from the memory: retrieve numbered sources, ask for [n] citations, check them")
	k := fs.Int("k", 5, "with --memory: the number of sources")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	kSet := false
	fs.Visit(func(f *flag.Flag) { kSet = kSet || f.Name == "k" })
	if kSet && !*useMemory {
		return fmt.Errorf("%w: --k needs --memory", errUsage)
	}
	if *k < 1 || *k > 50 {
		return fmt.Errorf("%w: --k must be between 1 and 50", errUsage)
	}
	prompt, err := readPrompt(args, e.In)
	if err != nil {
		return err
	}
	if *maxTokens < 1 {
		return fmt.Errorf("%w: --max-tokens must be ≥ 1", errUsage)
	}
	a, err := e.app(config.Flags{Model: *model, Threads: *threads})
	if err != nil {
		return err
	}
	defer a.Close()
	name := a.Config().DefaultModel
	m, err := a.Model(ctx, name)
	if err != nil {
		return err
	}
	if *useMemory {
		store, err := a.OpenMemory(ctx)
		if err != nil {
			return err
		}
		defer store.Close()
		if m, err = ground.New(m, ground.Options{Store: store, Search: memory.SearchOptions{K: *k}}); err != nil {
			return err
		}
	}
	req := &chat.Request{MaxTokens: *maxTokens, Stop: stops, TruncatePrompt: *truncate}
	if *system != "" {
		req.Messages = append(req.Messages, chat.Message{Role: chat.System, Content: *system})
	}
	req.Messages = append(req.Messages, chat.Message{Role: chat.User, Content: prompt})
	if *temp >= 0 {
		req.Sampling.Temperature = temp
	}
	if *topP >= 0 {
		req.Sampling.TopP = topP
	}
	if *topK >= 0 {
		req.Sampling.TopK = topK
	}
	if *seed >= 0 {
		req.Sampling.Seed = seed
	}
	if *logprobs > 0 {
		req.Logprobs, req.TopLogprobs = true, *logprobs
	}
	var stream chat.StreamFunc
	if !*asJSON {
		stream = func(d chat.Delta) error {
			_, err := io.WriteString(e.Out, d.Content)
			return err
		}
	}
	start := time.Now()
	resp, err := m.Chat(ctx, req, stream)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Out, toAskResult(name, resp))
	}
	fmt.Fprintln(e.Out)
	if resp.Grounding != nil {
		printGrounding(e.Out, resp.Grounding)
	}
	for _, c := range resp.Message.ToolCalls {
		fmt.Fprintf(e.Out, "tool call %s: %s(%s)\n", c.ID, c.Name, c.Arguments)
	}
	if !*quiet {
		u := resp.Usage
		tps := 0.0
		if gen := u.Duration - u.TimeToFirstToken; gen > 0 && u.CompletionTokens > 1 {
			tps = float64(u.CompletionTokens-1) / gen.Seconds()
		}
		fmt.Fprintf(e.Err, "[%s · %d prompt + %d completion tokens · %s · first token %s · %.1f tok/s · %.3g FLOPs · %s]\n",
			name, u.PromptTokens, u.CompletionTokens, time.Since(start).Round(time.Millisecond),
			u.TimeToFirstToken.Round(time.Millisecond), tps, u.FLOPs, resp.FinishReason)
		if resp.Truncated > 0 {
			fmt.Fprintf(e.Err, "[the prompt was truncated: %d tokens dropped]\n", resp.Truncated)
		}
	}
	return nil
}

func toAskResult(name string, r *chat.Response) askResult {
	out := askResult{
		Model:        name,
		Content:      r.Message.Content,
		FinishReason: string(r.FinishReason),
		Usage: jsonUsage{
			PromptTokens:     r.Usage.PromptTokens,
			CompletionTokens: r.Usage.CompletionTokens,
			DurationMS:       float64(r.Usage.Duration.Microseconds()) / 1000,
			TTFTMS:           float64(r.Usage.TimeToFirstToken.Microseconds()) / 1000,
			FLOPs:            r.Usage.FLOPs,
			TruncatedTokens:  r.Truncated,
		},
	}
	for _, c := range r.Message.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, jsonCall{c.ID, c.Name, c.Arguments})
	}
	for _, lp := range r.Logprobs {
		out.Logprobs = append(out.Logprobs, jsonLogprob{lp.Token, lp.Logprob})
	}
	out.Grounding = openai.GroundingFromChat(r.Grounding)
	return out
}

// printGrounding prints the numbered sources of a grounded answer and the sentences its check flagged.
func printGrounding(w io.Writer, g *chat.Grounding) {
	if len(g.Sources) == 0 {
		fmt.Fprintln(w, "\nSources: none (nothing in memory passed the relevance gate)")
	} else {
		fmt.Fprintln(w, "\nSources:")
	}
	for _, s := range g.Sources {
		fmt.Fprintf(w, "  [%d] %s:%d-%d  %s", s.N, s.Path, s.StartLine, s.EndLine, s.Title)
		if len(s.Headings) > 0 {
			fmt.Fprintf(w, " › %s", strings.Join(s.Headings, " › "))
		}
		if s.Commit != "" {
			fmt.Fprintf(w, "  (commit %.12s)", s.Commit)
		}
		fmt.Fprintln(w)
	}
	c := g.Check
	fmt.Fprintf(w, "\nCheck: %d claims: %d supported, %d unsupported, %d bad citations, %d uncited\n",
		c.Claims, c.Supported, c.Unsupported, c.BadCitations, c.Uncited)
	for _, s := range c.Sentences {
		if s.Verdict == string(memory.Supported) || s.Verdict == string(memory.NoClaim) {
			continue
		}
		fmt.Fprintf(w, "  ✗ %s: %q — %s\n", strings.ReplaceAll(s.Verdict, "_", " "), s.Text, s.Reason)
	}
}

// readPrompt joins the arguments, or reads stdin for "-" or no arguments.
func readPrompt(args []string, in io.Reader) (string, error) {
	if len(args) == 0 || (len(args) == 1 && args[0] == "-") {
		if in == nil {
			return "", fmt.Errorf("%w: no prompt given", errUsage)
		}
		data, err := io.ReadAll(io.LimitReader(in, 16<<20))
		if err != nil {
			return "", fmt.Errorf("read prompt from stdin: %w", err)
		}
		if strings.TrimSpace(string(data)) == "" {
			return "", fmt.Errorf("%w: empty prompt", errUsage)
		}
		return string(data), nil
	}
	return strings.Join(args, " "), nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
