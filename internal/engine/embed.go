package engine

import (
	"context"
	"math"

	"github.com/seance-dev/seance/internal/engine/tokenizer"
	"github.com/seance-dev/seance/internal/fault"
)

// Embed returns one L2-normalised vector per text: the mean of the model's final hidden states over
// the text's tokens. Decoder models are not trained as embedders, so these vectors are a baseline;
// a dedicated embedding model (or USE-lite in internal/memory) retrieves better. It also returns the
// number of tokens embedded.
func (m *Model) Embed(ctx context.Context, texts []string) ([][]float32, int, error) {
	out := make([][]float32, len(texts))
	total := 0
	for i, text := range texts {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		toks := m.tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true})
		if len(toks) == 0 {
			return nil, 0, fault.Param("input", "input %d is empty", i)
		}
		if len(toks) > m.ctxLen {
			return nil, 0, fault.New(fault.ContextLength, "input %d has %d tokens but the context holds %d", i, len(toks), m.ctxLen)
		}
		vec := make([]float32, m.net.Config().Dim)
		st := m.net.NewState(len(toks))
		m.mu.Lock()
		err := st.Embed(m.pool, toks, vec)
		m.mu.Unlock()
		if err != nil {
			return nil, 0, fault.Wrap(err, fault.Internal, "embed input %d", i)
		}
		normalize(vec)
		out[i] = vec
		total += len(toks)
	}
	return out, total, nil
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}
