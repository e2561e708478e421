package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"reflect"
	"strings"

	"github.com/seance-dev/seance/internal/fault"
)

// MaxEmbeddingInputs is the largest number of inputs of one embeddings request, as in the OpenAI API.
const MaxEmbeddingInputs = 2048

// EmbeddingRequest is the body of POST /v1/embeddings.
type EmbeddingRequest struct {
	Model string `json:"model"`
	Input Input  `json:"input"`
	// EncodingFormat is "float" (the default) or "base64" (little-endian float32 values).
	EncodingFormat string `json:"encoding_format,omitempty"`
	Dimensions     *int   `json:"dimensions,omitempty"`
	User           string `json:"user,omitempty"`
}

// Input is the input of an embeddings request: a string or an array of strings. Token arrays, which
// the API also allows, are rejected as unsupported: seance's models tokenize themselves.
type Input []string

// UnmarshalJSON accepts a string or an array of strings.
func (in *Input) UnmarshalJSON(b []byte) error {
	*in = nil
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*in = Input{s}
		return nil
	case len(b) > 0 && b[0] == '[':
		var many []string
		if err := json.Unmarshal(b, &many); err == nil {
			*in = many
			return nil
		}
		var tokens []json.RawMessage
		if err := json.Unmarshal(b, &tokens); err == nil && len(tokens) > 0 {
			if k := jsonKind(bytes.TrimSpace(tokens[0])); k == "number" || k == "array" {
				return unsupported("input", "token arrays as input are not supported; send text")
			}
		}
		return &json.UnmarshalTypeError{Value: "array", Type: reflect.TypeFor[Input]()}
	}
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[Input]()}
}

// DecodeEmbeddingRequest reads and validates an embeddings request of at most limit bytes, with the
// error classification of DecodeChatRequest.
func DecodeEmbeddingRequest(r io.Reader, limit int64) (*EmbeddingRequest, error) {
	body, err := readLimited(r, limit)
	if err != nil {
		return nil, err
	}
	var req EmbeddingRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return &req, nil
}

// Validate checks the request.
func (r *EmbeddingRequest) Validate() error {
	if strings.TrimSpace(r.Model) == "" {
		return fault.Param("model", "you must provide a model parameter")
	}
	if len(r.Input) == 0 {
		return fault.Param("input", "input must be a string or a non-empty array of strings")
	}
	if len(r.Input) > MaxEmbeddingInputs {
		return fault.Param("input", "input may hold at most %d strings, got %d", MaxEmbeddingInputs, len(r.Input))
	}
	for _, s := range r.Input {
		if s == "" {
			return fault.Param("input", "input strings must not be empty")
		}
	}
	switch r.EncodingFormat {
	case "", "float", "base64":
	default:
		return fault.Param("encoding_format", `encoding_format must be "float" or "base64", got %q`, r.EncodingFormat)
	}
	if r.Dimensions != nil {
		return unsupported("dimensions", "dimensions is not supported: the model's embedding size is fixed")
	}
	return nil
}

// EmbeddingResponse is the response of POST /v1/embeddings.
type EmbeddingResponse struct {
	Object string         `json:"object"`
	Data   []Embedding    `json:"data"`
	Model  string         `json:"model"`
	Usage  EmbeddingUsage `json:"usage"`
}

// Embedding is one vector of an EmbeddingResponse: an array of numbers, or a base64 string of
// little-endian float32 values.
type Embedding struct {
	Object    string          `json:"object"`
	Index     int             `json:"index"`
	Embedding json.RawMessage `json:"embedding"`
}

// EmbeddingUsage counts the tokens of an embeddings request.
type EmbeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// FromEmbeddings builds the response for vectors in the request's encoding format. Non-finite values
// (which JSON cannot carry) are an Internal error: a model that produces them is broken.
func FromEmbeddings(model string, vectors [][]float32, promptTokens int, format string) (*EmbeddingResponse, error) {
	out := &EmbeddingResponse{
		Object: ObjectList,
		Data:   make([]Embedding, 0, len(vectors)),
		Model:  model,
		Usage:  EmbeddingUsage{PromptTokens: promptTokens, TotalTokens: promptTokens},
	}
	for i, v := range vectors {
		var raw []byte
		if format == "base64" {
			buf := make([]byte, 4*len(v))
			for k, x := range v {
				binary.LittleEndian.PutUint32(buf[4*k:], math.Float32bits(x))
			}
			raw, _ = json.Marshal(base64.StdEncoding.EncodeToString(buf))
		} else {
			for _, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return nil, fault.New(fault.Internal, "embedding %d has a non-finite value", i)
				}
			}
			var err error
			if raw, err = json.Marshal(v); err != nil {
				return nil, fault.Wrap(err, fault.Internal, "encode embedding %d", i)
			}
		}
		out.Data = append(out.Data, Embedding{Object: ObjectEmbedding, Index: i, Embedding: raw})
	}
	return out, nil
}
