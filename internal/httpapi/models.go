package httpapi

import (
	"fmt"
	"net/http"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/openai"
)

// listModels serves GET /v1/models.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	infos, err := s.models.Models(r.Context())
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	list := openai.ModelList{Object: openai.ObjectList, Data: make([]openai.ModelObject, 0, len(infos))}
	for _, info := range infos {
		list.Data = append(list.Data, modelObject(info))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// getModel serves GET /v1/models/{id}; ids may contain slashes.
func (s *Server) getModel(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	infos, err := s.models.Models(r.Context())
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	for _, info := range infos {
		if info.ID == id {
			writeJSON(w, http.StatusOK, modelObject(info))
			return nil
		}
	}
	return &fault.Error{Code: fault.NotFound, Param: "model", Message: fmt.Sprintf("model %q does not exist", id)}
}

func modelObject(info llm.Info) openai.ModelObject {
	m := openai.ModelObject{ID: info.ID, Object: openai.ObjectModel, OwnedBy: "seance"}
	if !info.Modified.IsZero() {
		m.Created = info.Modified.Unix()
	}
	d := openai.ModelDetails{
		Backend:       info.Backend,
		Architecture:  info.Architecture,
		Parameters:    info.Parameters,
		ContextLength: info.ContextLength,
		Quantization:  info.Quantization,
		Size:          info.Size,
		Source:        info.Source,
	}
	if d != (openai.ModelDetails{}) {
		m.Seance = &d
	}
	return m
}

// embeddings serves POST /v1/embeddings for models that implement llm.Embedder.
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength > s.opts.MaxBodyBytes {
		return fault.New(fault.TooLarge, "request body is larger than %d bytes", s.opts.MaxBodyBytes)
	}
	req, err := openai.DecodeEmbeddingRequest(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes), s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	ctx := r.Context()
	model, err := s.models.Model(ctx, req.Model)
	if err != nil {
		return fmt.Errorf("find model %q: %w", req.Model, err)
	}
	emb, ok := model.(llm.Embedder)
	if !ok {
		return &fault.Error{Code: fault.Unsupported, Param: "model",
			Message: fmt.Sprintf("model %q does not support embeddings", req.Model)}
	}
	release, err := s.limit.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	vectors, tokens, err := emb.Embed(ctx, req.Input)
	if err != nil {
		return fmt.Errorf("embed with %q: %w", req.Model, err)
	}
	if len(vectors) != len(req.Input) {
		return fault.New(fault.Internal, "model %q returned %d embeddings for %d inputs", req.Model, len(vectors), len(req.Input))
	}
	s.metrics.tokens(req.Model, tokens, 0)
	resp, err := openai.FromEmbeddings(req.Model, vectors, tokens, req.EncodingFormat)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
