// Package engine is seance's embedded inference engine as a whole: it opens a GGUF file and puts
// together its tokenizer, its chat template, the transformer weights and a sampler, and runs
// generation with streaming, stop sequences, log-probabilities and compute accounting.
//
// The parts live in subpackages (gguf, tensor, tokenizer, chattmpl, sample, llama); internal/llm/embedded
// adapts a Model to the llm.Model contract.
package engine

import (
	"fmt"
	"os"
	"sync"

	"github.com/seance-dev/seance/internal/engine/chattmpl"
	"github.com/seance-dev/seance/internal/engine/gguf"
	"github.com/seance-dev/seance/internal/engine/llama"
	"github.com/seance-dev/seance/internal/engine/tensor"
	"github.com/seance-dev/seance/internal/engine/tokenizer"
	"github.com/seance-dev/seance/internal/fault"
)

// Options configure an opened model.
type Options struct {
	// Threads for the matrix products (default 1).
	Threads int
	// ContextLength caps the context below the model's own (0: the model's).
	ContextLength int
	// Float32Cache keeps the KV cache in float32. The default is half precision with llama.cpp's
	// attention numerics: half the cache memory, and log-probabilities within about 1e-3 of
	// llama.cpp's, at a small speed cost at long positions. Float32 is the more precise.
	Float32Cache bool
}

// TemplateKind says how conversations are turned into a prompt.
type TemplateKind string

// Template kinds.
const (
	// TemplateModel renders the model's own tokenizer.chat_template.
	TemplateModel TemplateKind = "model"
	// TemplateChatML is the fallback for chat models whose file has no template but whose vocabulary
	// has ChatML's <|im_start|> and <|im_end|> tokens.
	TemplateChatML TemplateKind = "chatml"
	// TemplatePlain is for base (completion) models: the messages' contents joined by blank lines, no
	// role markers — so "Once upon a time" is continued as text.
	TemplatePlain TemplateKind = "plain"
)

// Info describes an opened or inspected model file.
type Info struct {
	Path          string
	Name          string
	Architecture  string
	Parameters    int64
	ContextLength int
	// Quantization is the type of most weight bytes ("Q8_0", "F32", ...).
	Quantization string
	Size         int64
	Template     TemplateKind
	VocabSize    int
}

// Model is an opened GGUF model, safe for concurrent use: generations share the weights and take
// turns for each forward pass.
type Model struct {
	info   Info
	file   *gguf.File
	net    *llama.Model
	tok    *tokenizer.Tokenizer
	tmpl   *chattmpl.Template // nil for TemplatePlain
	pool   *tensor.Pool
	ctxLen int

	mu sync.Mutex // one forward pass at a time: the pool's threads are the machine's cores
}

// Open opens the GGUF file at path. Errors say precisely what is wrong with the file
// (fault.Unprocessable) or that it does not exist (fault.NotFound).
func Open(path string, opts Options) (*Model, error) {
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) {
			return nil, fault.Wrap(err, fault.NotFound, "model file %s does not exist", path)
		}
		return nil, fault.Wrap(err, fault.Unprocessable, "model file %s", path)
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unprocessable, "open model %s", path)
	}
	m, err := build(f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

func build(f *gguf.File, path string, opts Options) (*Model, error) {
	net, err := llama.Load(f, llama.Options{HalfCache: !opts.Float32Cache})
	if err != nil {
		return nil, fault.Wrap(err, fault.Unprocessable, "load model %s", path)
	}
	vocab, err := tokenizer.FromMetadata(f)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unprocessable, "model %s", path)
	}
	tok, err := tokenizer.New(vocab)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unprocessable, "model %s: tokenizer", path)
	}
	if tok.Len() < net.Config().Vocab {
		return nil, fault.New(fault.Unprocessable, "model %s: the tokenizer has %d tokens but the weights %d",
			path, tok.Len(), net.Config().Vocab)
	}
	tmpl, kind, err := chooseTemplate(f, tok)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unprocessable, "model %s: chat template", path)
	}
	ctxLen := net.Config().ContextLength
	if opts.ContextLength > 0 && opts.ContextLength < ctxLen {
		ctxLen = opts.ContextLength
	}
	info, err := inspect(f, path)
	if err != nil {
		return nil, err
	}
	info.Template = kind
	info.ContextLength = ctxLen
	return &Model{
		info:   info,
		file:   f,
		net:    net,
		tok:    tok,
		tmpl:   tmpl,
		pool:   tensor.NewPool(max(opts.Threads, 1)),
		ctxLen: ctxLen,
	}, nil
}

// chooseTemplate picks the model's own template, ChatML for chat vocabularies without one, or plain
// text for base models.
func chooseTemplate(f *gguf.File, tok *tokenizer.Tokenizer) (*chattmpl.Template, TemplateKind, error) {
	if src, ok := f.String("tokenizer.chat_template"); ok && src != "" {
		t, err := chattmpl.Parse(src)
		if err != nil {
			return nil, "", err
		}
		return t, TemplateModel, nil
	}
	_, start := tok.ID("<|im_start|>")
	_, end := tok.ID("<|im_end|>")
	if start && end {
		return chattmpl.ChatML(), TemplateChatML, nil
	}
	return nil, TemplatePlain, nil
}

// Inspect reads what a GGUF file says about itself without loading the weights for computing.
func Inspect(path string) (Info, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return Info{}, fault.Wrap(err, fault.Unprocessable, "open model %s", path)
	}
	defer f.Close()
	return inspect(f, path)
}

func inspect(f *gguf.File, path string) (Info, error) {
	info := Info{Path: path, Size: f.Size}
	info.Architecture = f.Arch()
	info.Name, _ = f.String("general.name")
	if n, ok := f.Uint(info.Architecture + ".context_length"); ok {
		info.ContextLength = int(n)
	}
	if toks, ok := f.Strings("tokenizer.ggml.tokens"); ok {
		info.VocabSize = len(toks)
	}
	bytesByType := map[tensor.Type]uint64{}
	var params uint64
	for _, t := range f.Tensors {
		bytesByType[t.Type] += t.Size
		params += t.Elements()
	}
	info.Parameters = int64(params)
	var best uint64
	for typ, n := range bytesByType {
		if n > best || n == best && typ.String() < info.Quantization {
			best, info.Quantization = n, typ.String()
		}
	}
	if info.Architecture == "" {
		return info, fault.New(fault.Unprocessable, "model %s: no general.architecture", path)
	}
	return info, nil
}

// Info describes the model.
func (m *Model) Info() Info { return m.info }

// Tokenizer returns the model's tokenizer.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// ContextLength is the number of tokens a prompt plus its completion may hold.
func (m *Model) ContextLength() int { return m.ctxLen }

// Close releases the weights. The Model must not be used afterwards.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pool.Close()
	if err := m.file.Close(); err != nil {
		return fmt.Errorf("close %s: %w", m.info.Path, err)
	}
	return nil
}
