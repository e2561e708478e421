package engine

import (
	"context"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/engine/constrain"
	"github.com/seance-dev/seance/internal/engine/llama"
	"github.com/seance-dev/seance/internal/engine/sample"
	"github.com/seance-dev/seance/internal/engine/tokenizer"
	"github.com/seance-dev/seance/internal/fault"
)

// GenerateOptions control one generation.
type GenerateOptions struct {
	Sample sample.Params
	// MaxTokens limits the completion; 0 means until the context is full.
	MaxTokens int
	// Stop sequences end the completion; the stop text is not part of the output.
	Stop []string
	// Logprobs asks for each token's log-probability (Sample.TopLogprobs alternatives).
	Logprobs bool
	// IgnoreEOG keeps generating past end-of-generation tokens (for benchmarks).
	IgnoreEOG bool
	// JSON, when set, constrains the output to one JSON value satisfying the schema (see
	// constrained.go); the completion ends when the value is complete.
	JSON *constrain.Schema
}

// Piece is a streamed part of the output: complete UTF-8 text that no stop sequence can still
// claim, and the log-probabilities of the tokens it completes.
type Piece struct {
	Text     string
	Logprobs []chat.TokenLogprob
}

// Result is a finished generation.
type Result struct {
	// Tokens are the generated token ids (without a final end-of-generation token).
	Tokens []int
	Text   string
	Finish chat.FinishReason
	// Logprobs has one entry per token whose text is in Text, when asked for.
	Logprobs         []chat.TokenLogprob
	PromptTokens     int
	TimeToFirstToken time.Duration
	Duration         time.Duration
	// PromptDuration is the time of the prompt's forward pass.
	PromptDuration time.Duration
	FLOPs          float64
}

// Generate continues the prompt token ids. onPiece, when non-nil, receives the output as it
// becomes final; an error it returns ends the generation and is returned. The prompt must leave room
// for at least one token in the context (fault.ContextLength otherwise).
func (m *Model) Generate(ctx context.Context, prompt []int, opts GenerateOptions, onPiece func(Piece) error) (*Result, error) {
	start := time.Now()
	if len(prompt) == 0 {
		return nil, fault.New(fault.Invalid, "empty prompt")
	}
	if len(prompt) >= m.ctxLen {
		return nil, fault.New(fault.ContextLength,
			"the prompt has %d tokens but the context holds %d (with room for at least one more)", len(prompt), m.ctxLen)
	}
	for _, id := range prompt {
		if id < 0 || id >= m.net.Config().Vocab {
			return nil, fault.New(fault.Invalid, "token id %d is outside the vocabulary (0..%d)", id, m.net.Config().Vocab-1)
		}
	}
	if opts.MaxTokens < 0 {
		return nil, fault.Param("max_tokens", "max_tokens must be ≥ 1")
	}
	for _, s := range opts.Stop {
		if s == "" {
			return nil, fault.Param("stop", "stop sequences must not be empty")
		}
	}
	smp, err := sample.New(opts.Sample)
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "sampling parameters")
	}
	limit := m.ctxLen - len(prompt)
	if opts.MaxTokens > 0 && opts.MaxTokens < limit {
		limit = opts.MaxTokens
	}
	st := m.net.NewState(len(prompt) + limit)
	logits := make([]float32, m.net.Config().Vocab)
	res := &Result{PromptTokens: len(prompt), Finish: chat.FinishLength}

	if err := m.forward(ctx, st, prompt, logits); err != nil {
		return nil, err
	}
	res.PromptDuration = time.Since(start)
	res.FLOPs += m.flops(0, len(prompt))

	out := newStopper(opts.Stop)
	dec := tokenizer.NewStreamDecoder(m.tok)
	history := append([]int(nil), prompt...)
	var cons *constrained
	if opts.JSON != nil {
		cons = newConstrained(m, opts.JSON, smp)
	}
	emit := func(p Piece) error {
		if p.Text == "" && len(p.Logprobs) == 0 {
			return nil
		}
		if res.TimeToFirstToken == 0 {
			res.TimeToFirstToken = time.Since(start)
		}
		res.Text += p.Text
		res.Logprobs = append(res.Logprobs, p.Logprobs...)
		if onPiece != nil {
			return onPiece(p)
		}
		return nil
	}
	for n := 0; n < limit; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := smp.Sample(logits, history)
		if cons != nil {
			if r, err = cons.pick(r, logits, history, limit-n); err != nil {
				return nil, err
			}
		}
		if (!opts.IgnoreEOG || cons != nil) && m.tok.IsEOG(r.Token) {
			res.Finish = chat.FinishStop
			break
		}
		res.Tokens = append(res.Tokens, r.Token)
		history = append(history, r.Token)
		var lp *chat.TokenLogprob
		if opts.Logprobs {
			lp = m.tokenLogprob(r)
		}
		text, stopped := out.push(dec.Push(r.Token), lp)
		if err := emit(text); err != nil {
			return nil, err
		}
		if stopped || cons != nil && cons.closed() {
			res.Finish = chat.FinishStop
			break
		}
		if n == limit-1 {
			break // the last token needs no forward pass
		}
		if err := m.forward(ctx, st, []int{r.Token}, logits); err != nil {
			return nil, err
		}
		res.FLOPs += m.flops(len(history)-1, 1)
	}
	if res.Finish != chat.FinishStop || !out.stopped {
		tail, _ := out.push(dec.Flush(), nil)
		if err := emit(tail); err != nil {
			return nil, err
		}
		if err := emit(out.flush()); err != nil {
			return nil, err
		}
	}
	res.Duration = time.Since(start)
	if res.TimeToFirstToken == 0 {
		res.TimeToFirstToken = res.Duration
	}
	return res, nil
}

// forward runs one forward pass under the model's lock.
func (m *Model) forward(ctx context.Context, st *llama.State, tokens []int, logits []float32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := st.Forward(m.pool, tokens, logits); err != nil {
		return fault.Wrap(err, fault.Internal, "forward pass")
	}
	return nil
}

func (m *Model) tokenLogprob(r sample.Result) *chat.TokenLogprob {
	lp := &chat.TokenLogprob{Token: m.tok.TokenText(r.Token), Bytes: m.tok.TokenBytes(r.Token), Logprob: r.Logprob}
	lp.Token = string(lp.Bytes)
	for _, c := range r.Top {
		b := m.tok.TokenBytes(c.Token)
		lp.Top = append(lp.Top, chat.TopLogprob{Token: string(b), Bytes: b, Logprob: c.Logprob})
	}
	return lp
}

// stopper holds back output that may be the start of a stop sequence, and cuts the output at the
// first complete one.
type stopper struct {
	stops   []string
	pending string
	lps     []chat.TokenLogprob
	stopped bool
	maxLen  int
}

func newStopper(stops []string) *stopper {
	s := &stopper{stops: stops}
	for _, x := range stops {
		s.maxLen = max(s.maxLen, len(x))
	}
	return s
}

// push adds text (and the logprob of the token that produced it) and returns what is now final,
// and whether a stop sequence was found.
func (s *stopper) push(text string, lp *chat.TokenLogprob) (Piece, bool) {
	if s.stopped {
		return Piece{}, true
	}
	s.pending += text
	if lp != nil {
		s.lps = append(s.lps, *lp)
	}
	if len(s.stops) == 0 {
		return s.flush(), false
	}
	cut := -1
	for _, x := range s.stops {
		if i := strings.Index(s.pending, x); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		s.stopped = true
		p := Piece{Text: s.pending[:cut]}
		if cut > 0 {
			p.Logprobs = s.lps
		}
		s.pending, s.lps = "", nil
		return p, true
	}
	// Keep the longest suffix that is a prefix of some stop sequence.
	keep := 0
	for _, x := range s.stops {
		for k := min(len(x)-1, len(s.pending)); k > keep; k-- {
			if strings.HasSuffix(s.pending, x[:k]) {
				keep = k
				break
			}
		}
	}
	if keep == len(s.pending) {
		return Piece{}, false
	}
	p := Piece{Text: s.pending[:len(s.pending)-keep], Logprobs: s.lps}
	s.pending, s.lps = s.pending[len(s.pending)-keep:], nil
	return p, false
}

// flush returns everything held back.
func (s *stopper) flush() Piece {
	p := Piece{Text: s.pending, Logprobs: s.lps}
	s.pending, s.lps = "", nil
	return p
}

// flops estimates the operations of computing n tokens starting at position pos.
func (m *Model) flops(pos, n int) float64 {
	var f float64
	for i := 0; i < n; i++ {
		f += float64(m.net.FLOPsPerToken(pos + i))
	}
	return f
}
