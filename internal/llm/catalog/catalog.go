// Package catalog finds the models on this machine: GGUF files in configured folders, models in
// Ollama's local store (manifests pointing at GGUF blobs, which the embedded engine opens directly)
// and GGUF files in the Hugging Face hub cache. It only reads the file system; what a file contains
// is read by an injected Inspect function (internal/app passes one built on the GGUF reader).
package catalog

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/seance-dev/seance/internal/llm"
)

// Options say where to look.
type Options struct {
	// Dirs are folders searched (recursively, to MaxDepth) for *.gguf files.
	Dirs []string
	// OllamaDir is Ollama's model store (holding manifests/ and blobs/).
	OllamaDir string
	// HuggingFaceCache is the hub cache (holding models--org--name/ folders).
	HuggingFaceCache string
	// MaxDepth limits the recursion into Dirs (default 4).
	MaxDepth int
	// Inspect fills in what a GGUF file says about itself (architecture, parameters, context). It may be
	// nil; its errors are reported per model in Entry.Err, never fatal.
	Inspect func(path string, info *llm.Info) error
}

// Entry is a model found on disk.
type Entry struct {
	llm.Info
	// Path is the GGUF file.
	Path string
	// Err says why the file could not be inspected ("" when it could).
	Err string
}

// Find lists the models the options point at, sorted by source then ID. Folders that do not exist
// are skipped; unreadable files are listed with Err set.
func Find(opts Options) ([]Entry, error) {
	if opts.MaxDepth == 0 {
		opts.MaxDepth = 4
	}
	var out []Entry
	seen := map[string]bool{}
	add := func(e Entry) {
		real, err := filepath.EvalSymlinks(e.Path)
		if err != nil {
			real = e.Path
		}
		if seen[real+"\x00"+e.Source] {
			return
		}
		seen[real+"\x00"+e.Source] = true
		if st, err := os.Stat(e.Path); err == nil {
			e.Size, e.Modified = st.Size(), st.ModTime()
		}
		if e.Err != "" { // a broken manifest: nothing to open
			out = append(out, e)
			return
		}
		e.URL = "gguf:" + e.Path
		e.Backend = "gguf"
		if opts.Inspect != nil {
			if err := opts.Inspect(e.Path, &e.Info); err != nil {
				e.Err = err.Error()
			}
		}
		out = append(out, e)
	}
	for _, dir := range opts.Dirs {
		if err := walkGGUF(dir, opts.MaxDepth, func(path string) {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				rel = filepath.Base(path)
			}
			add(Entry{Info: llm.Info{ID: strings.TrimSuffix(rel, filepath.Ext(rel)), Source: "folder"}, Path: path})
		}); err != nil {
			return nil, err
		}
	}
	if opts.OllamaDir != "" {
		entries, err := ollamaModels(opts.OllamaDir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			add(e)
		}
	}
	if opts.HuggingFaceCache != "" {
		entries, err := hfModels(opts.HuggingFaceCache, opts.MaxDepth)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			add(e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// walkGGUF calls fn for every *.gguf file under dir, following the root if it is a symlink. A
// missing dir is not an error.
func walkGGUF(dir string, maxDepth int, fn func(path string)) error {
	root, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	base := strings.Count(root, string(filepath.Separator))
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // unreadable subfolder: skip it
		}
		if d.IsDir() {
			if strings.Count(path, string(filepath.Separator))-base >= maxDepth {
				return filepath.SkipDir
			}
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.EqualFold(filepath.Ext(path), ".gguf") {
			fn(filepath.Join(dir, strings.TrimPrefix(path, root)))
		}
		return nil
	})
}

// ollamaManifest is the part of an Ollama manifest seance reads.
type ollamaManifest struct {
	Layers []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	} `json:"layers"`
}

const ollamaModelMedia = "application/vnd.ollama.image.model"

// ollamaModels reads manifests/<registry>/<namespace>/<model>/<tag> files and resolves their model
// layer to blobs/sha256-<hex>.
func ollamaModels(store string) ([]Entry, error) {
	mdir := filepath.Join(store, "manifests")
	if _, err := os.Stat(mdir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var out []Entry
	err := filepath.WalkDir(mdir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(mdir, path)
		if err != nil {
			return nil
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 4 {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			out = append(out, Entry{Info: llm.Info{ID: ollamaName(parts), Source: "ollama"}, Path: path, Err: err.Error()})
			return nil
		}
		var m ollamaManifest
		if err := json.Unmarshal(data, &m); err != nil {
			out = append(out, Entry{Info: llm.Info{ID: ollamaName(parts), Source: "ollama"}, Path: path,
				Err: "manifest is not valid JSON: " + err.Error()})
			return nil
		}
		for _, l := range m.Layers {
			if l.MediaType != ollamaModelMedia {
				continue
			}
			hex, ok := strings.CutPrefix(l.Digest, "sha256:")
			if !ok || strings.ContainsAny(hex, `/\.`) {
				continue
			}
			blob := filepath.Join(store, "blobs", "sha256-"+hex)
			if _, err := os.Stat(blob); err != nil {
				continue
			}
			out = append(out, Entry{Info: llm.Info{ID: ollamaName(parts), Source: "ollama"}, Path: blob})
		}
		return nil
	})
	return out, err
}

// ollamaName turns registry/namespace/model/tag into Ollama's short name: "library" models on the
// default registry are "model:tag", others "namespace/model:tag" or "registry/namespace/model:tag".
func ollamaName(p []string) string {
	name := p[2] + ":" + p[3]
	switch {
	case p[0] == "registry.ollama.ai" && p[1] == "library":
		return name
	case p[0] == "registry.ollama.ai":
		return p[1] + "/" + name
	}
	return p[0] + "/" + p[1] + "/" + name
}

// hfModels finds GGUF files in snapshots of models--org--name folders of the hub cache.
func hfModels(cache string, maxDepth int) ([]Entry, error) {
	dirs, err := os.ReadDir(cache)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, d := range dirs {
		repo, ok := strings.CutPrefix(d.Name(), "models--")
		if !ok || !d.IsDir() {
			continue
		}
		repo = strings.ReplaceAll(repo, "--", "/")
		snaps := filepath.Join(cache, d.Name(), "snapshots")
		revs, err := os.ReadDir(snaps)
		if err != nil {
			continue
		}
		for _, rev := range revs {
			root := filepath.Join(snaps, rev.Name())
			_ = walkGGUF(root, maxDepth, func(path string) {
				rel, _ := filepath.Rel(root, path)
				out = append(out, Entry{Info: llm.Info{ID: repo + "/" + filepath.ToSlash(rel), Source: "huggingface"}, Path: path})
			})
		}
	}
	return out, nil
}
