package home

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/runid"

	"github.com/seance-dev/seance/internal/fault"
)

// RunMeta describes a saved run. JSON tags: it is part of the transcript file format.
type RunMeta struct {
	// ID names the run (letters, digits, '.', '_', '-'); SaveRun makes one when empty.
	ID   string `json:"id"`
	Team string `json:"team"`
	// Started is when the run began; SaveRun uses the current time when zero. Its UTC date names the
	// folder the transcript is stored in.
	Started time.Time `json:"started"`
	// Hashes maps the spec files the run used to their content hashes (see Home.Hashes).
	Hashes map[string]string `json:"hashes,omitempty"`
}

// Run is a saved transcript.
type Run struct {
	RunMeta
	// File is the transcript's path relative to the home ("runs/2026-11-22/<id>.json").
	File string `json:"-"`
	// Commit is the commit that recorded the file ("" if it is not committed).
	Commit string `json:"-"`
	// Transcript is the run's JSON as given to SaveRun.
	Transcript json.RawMessage `json:"transcript"`
}

// NewRunID returns a fresh run id: the UTC time and a random suffix ("20261122-071900-3f9a2c1b").
func NewRunID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// SaveRun writes the transcript of a run to runs/<date>/<id>.json and commits it. transcript is
// anything encoding/json can marshal (the team runtime's result, a json.Marshaler); a []byte or
// json.RawMessage must already be JSON and is stored as it is. It returns the saved Run.
func (h *Home) SaveRun(ctx context.Context, meta RunMeta, transcript any) (*Run, error) {
	if h.repo == nil {
		return nil, h.repoErr
	}
	if meta.Started.IsZero() {
		meta.Started = now()
	}
	if meta.ID == "" {
		meta.ID = NewRunID(meta.Started)
	}
	if !runid.Valid(meta.ID) {
		return nil, fault.Param("id", "run id %q: want letters, digits, '.', '_' and '-'", meta.ID)
	}
	var raw json.RawMessage
	switch t := transcript.(type) {
	case json.RawMessage:
		raw = t
	case []byte:
		raw = t
	default:
		b, err := json.Marshal(transcript)
		if err != nil {
			return nil, fault.Wrap(err, fault.Invalid, "run %s: transcript is not JSON-encodable", meta.ID)
		}
		raw = b
	}
	if !json.Valid(raw) {
		return nil, fault.New(fault.Invalid, "run %s: transcript is not valid JSON", meta.ID)
	}
	run := &Run{RunMeta: meta, Transcript: raw}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(run); err != nil {
		return nil, fmt.Errorf("run %s: %w", meta.ID, err)
	}
	run.File = RunsDir + "/" + meta.Started.UTC().Format("2006-01-02") + "/" + meta.ID + ".json"

	unlock := h.repo.Lock()
	defer unlock()
	if existing, _ := h.findRun(meta.ID); existing != "" {
		return nil, fault.New(fault.Invalid, "run %s already exists (%s)", meta.ID, existing)
	}
	team := meta.Team
	if team == "" {
		team = "(no team)"
	}
	hash, err := h.commitLocked(ctx, fmt.Sprintf("runs: %s %s", team, meta.ID), change{rel: run.File, content: buf.Bytes()})
	if err != nil {
		return nil, err
	}
	run.Commit = hash
	return run, nil
}

// findRun returns the path (relative to the home) of run id's transcript, or "".
func (h *Home) findRun(id string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(h.dir, RunsDir, "*", id+".json"))
	if err != nil || len(matches) == 0 {
		return "", err
	}
	sort.Strings(matches)
	rel, err := filepath.Rel(h.dir, matches[len(matches)-1])
	return filepath.ToSlash(rel), err
}

// ListRuns returns the saved runs' metadata, newest first. A transcript that cannot be read is an
// error naming its file.
func (h *Home) ListRuns(ctx context.Context) ([]Run, error) {
	days, err := os.ReadDir(filepath.Join(h.dir, RunsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	var runs []Run
	for _, d := range days {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		files, err := os.ReadDir(filepath.Join(h.dir, RunsDir, d.Name()))
		if err != nil {
			return nil, fmt.Errorf("read runs/%s: %w", d.Name(), err)
		}
		for _, f := range files {
			name := f.Name()
			if strings.HasPrefix(name, ".") || filepath.Ext(name) != ".json" || !f.Type().IsRegular() {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			rel := RunsDir + "/" + d.Name() + "/" + name
			r, err := h.readRun(rel)
			if err != nil {
				return nil, err
			}
			r.Transcript = nil
			runs = append(runs, *r)
		}
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if !runs[i].Started.Equal(runs[j].Started) {
			return runs[i].Started.After(runs[j].Started)
		}
		return runs[i].ID > runs[j].ID
	})
	return runs, nil
}

func (h *Home) readRun(rel string) (*Run, error) {
	b, err := os.ReadFile(filepath.Join(h.dir, rel))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fault.Wrap(err, fault.Unprocessable, "transcript %s is not valid", rel)
	}
	if r.ID == "" {
		return nil, fault.New(fault.Unprocessable, "transcript %s has no id", rel)
	}
	r.File = rel
	return &r, nil
}

// ShowRun returns the saved run id with its transcript and the commit that recorded it.
func (h *Home) ShowRun(ctx context.Context, id string) (*Run, error) {
	if !runid.Valid(id) {
		return nil, fault.Param("id", "run id %q: want letters, digits, '.', '_' and '-'", id)
	}
	rel, err := h.findRun(id)
	if err != nil {
		return nil, fmt.Errorf("find run %s: %w", id, err)
	}
	if rel == "" {
		return nil, fault.New(fault.NotFound, "no run %q", id)
	}
	r, err := h.readRun(rel)
	if err != nil {
		return nil, err
	}
	if h.repo != nil {
		if log, err := h.repo.Log(ctx, 1, rel); err == nil && len(log) > 0 {
			r.Commit = log[0].Hash
		}
	}
	return r, nil
}
