package memory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/fault"
)

// Defaults of Options.
const (
	DefaultChunkRunes   = 1200
	DefaultMaxFileBytes = 16 << 20
	DefaultBatchChunks  = 2000
)

// Options tune Ingest. The zero value is usable.
type Options struct {
	// ChunkRunes is the target chunk size in runes (DefaultChunkRunes when 0).
	ChunkRunes int
	// MaxFileBytes is the largest file ingested; larger ones are skipped (DefaultMaxFileBytes when 0).
	MaxFileBytes int64
	// Git is the path of the git program used to record the last commit of files that live in a
	// repository; "" records no commits. It runs with an allow-listed environment.
	Git string
	// BatchChunks is how many chunks are committed per transaction when the store is a Batcher
	// (DefaultBatchChunks when 0); a batch is also committed after a second. A crash loses at most
	// the open batch, which the next run redoes.
	BatchChunks int
	// Progress, when set, is called for each file once its outcome is committed.
	Progress func(Progress)
	// Now returns the ingest time (time.Now when nil).
	Now func() time.Time
	// Embedder, when set, makes Ingest compute the vectors the store lacks after the files are
	// stored (EmbedPending); the store must then be a VectorStore. Chunks whose text already has a
	// vector from this embedder keep it.
	Embedder Embedder
	// EmbedBatch is how many texts go to the embedder per call (32 when 0).
	EmbedBatch int
	// EmbedProgress, when set, is called after each batch of vectors is stored.
	EmbedProgress func(done, total int)
}

// Ingest actions reported in Progress.Action.
const (
	Added     = "added"
	Updated   = "updated"
	Unchanged = "unchanged"
	Skipped   = "skipped"
)

// Progress reports one file of an ingest run.
type Progress struct {
	Path   string
	Action string
	// Reason says why a file was skipped.
	Reason string
	// Chunks is the number of chunks stored for an added or updated file.
	Chunks int
	// Done counts the files handled so far, of Total.
	Done, Total int
}

// Skip is a file that was not ingested, and why.
type Skip struct {
	Path, Reason string
}

// Report summarises an ingest run.
type Report struct {
	Added, Updated, Unchanged int
	// Chunks counts the chunks stored for added and updated files.
	Chunks  int
	Skipped []Skip
	// Embedded counts the chunk texts given new vectors.
	Embedded int
}

// kindOf maps file extensions to document kinds.
var kindOf = map[string]string{
	".md": "markdown", ".markdown": "markdown", ".mdown": "markdown", ".mkd": "markdown",
	".txt": "text", ".text": "text",
	".html": "html", ".htm": "html", ".xhtml": "html",
}

// Ingest adds files and folders (walked recursively, hidden entries skipped) to store. Files whose
// content hash is unchanged are skipped; changed files replace their earlier version atomically.
// With a Batcher store, files are committed in batches (Options.BatchChunks, or every second), each
// batch one transaction, and Progress reports a file once its batch is committed; so after a crash
// the next run finds every reported file unchanged and redoes the rest.
// Inside folders only Markdown, text and HTML files are read; a file named explicitly with another
// extension is read as plain text. Binary, empty, over-size and invalid UTF-8 files are skipped with
// a reason. A path that does not exist is a fault.NotFound error and nothing is ingested; a store
// error or a cancelled ctx stops the run, and everything stored before it stays stored. With
// opts.Embedder the missing vectors are computed last (see EmbedPending).
func Ingest(ctx context.Context, store Store, paths []string, opts Options) (Report, error) {
	if opts.ChunkRunes <= 0 {
		opts.ChunkRunes = DefaultChunkRunes
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.BatchChunks <= 0 {
		opts.BatchChunks = DefaultBatchChunks
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var rep Report
	if _, ok := store.(VectorStore); opts.Embedder != nil && !ok {
		return rep, fault.New(fault.Unsupported, "memory: the store cannot keep vectors")
	}
	type file struct {
		path, kind string
	}
	var files []file
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return rep, fault.Wrap(err, fault.Invalid, "memory: bad path %q", p)
		}
		st, err := os.Stat(abs)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return rep, fault.Wrap(err, fault.NotFound, "memory: %s does not exist", p)
			}
			return rep, fault.Wrap(err, fault.Invalid, "memory: cannot read %s", p)
		}
		if !st.IsDir() {
			kind := kindOf[strings.ToLower(filepath.Ext(abs))]
			if kind == "" {
				kind = "text"
			}
			files = append(files, file{abs, kind})
			continue
		}
		err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				rep.Skipped = append(rep.Skipped, Skip{path, "unreadable: " + errText(err)})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if path != abs && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			if kind := kindOf[strings.ToLower(filepath.Ext(path))]; kind != "" {
				files = append(files, file{path, kind})
			}
			return nil
		})
		if err != nil {
			return rep, fault.Wrap(err, fault.Invalid, "memory: walk %s", p)
		}
	}
	files = dedupe(files, func(f file) string { return f.path })
	git := newGitInfo(opts.Git)
	batcher, _ := store.(Batcher)
	var (
		pending   []Update
		reports   []Progress
		nPending  int
		lastFlush = time.Now()
	)
	flush := func() error {
		if len(pending) > 0 {
			var err error
			if batcher != nil {
				err = batcher.ReplaceBatch(ctx, pending)
			} else {
				for _, u := range pending {
					if err = store.Replace(ctx, u.Source, u.Chunks); err != nil {
						break
					}
				}
			}
			if err != nil {
				return fmt.Errorf("memory: store: %w", err)
			}
		}
		for _, pr := range reports {
			switch pr.Action {
			case Added:
				rep.Added++
			case Updated:
				rep.Updated++
			case Unchanged:
				rep.Unchanged++
			case Skipped:
				rep.Skipped = append(rep.Skipped, Skip{pr.Path, pr.Reason})
			}
			rep.Chunks += pr.Chunks
			if opts.Progress != nil {
				opts.Progress(pr)
			}
		}
		pending, reports, nPending, lastFlush = pending[:0], reports[:0], 0, time.Now()
		return nil
	}
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		action, reason, u, err := ingestFile(ctx, store, f.path, f.kind, opts, git)
		if err != nil {
			return rep, err
		}
		pr := Progress{Path: f.path, Action: action, Reason: reason, Done: i + 1, Total: len(files)}
		if u != nil {
			pending = append(pending, *u)
			pr.Chunks = len(u.Chunks)
			nPending += len(u.Chunks)
		}
		reports = append(reports, pr)
		if nPending >= opts.BatchChunks || time.Since(lastFlush) >= time.Second {
			if err := flush(); err != nil {
				return rep, err
			}
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	if opts.Embedder != nil {
		n, err := EmbedPending(ctx, store, opts.Embedder, EmbedOptions{Batch: opts.EmbedBatch, Progress: opts.EmbedProgress})
		rep.Embedded = n
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// dedupe keeps the first of the elements with the same key.
func dedupe[T any](s []T, key func(T) string) []T {
	seen := map[string]bool{}
	out := s[:0]
	for _, e := range s {
		if k := key(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// errText returns err's message without the path the fs package repeats.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ingestFile reads, checks and parses one file, and returns what to store for it (nil when
// skipped or unchanged).
func ingestFile(ctx context.Context, store Store, path, kind string, opts Options, git *gitInfo) (action, reason string, u *Update, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return Skipped, "unreadable: " + errText(err), nil, nil
	}
	if st.Size() > opts.MaxFileBytes {
		return Skipped, fmt.Sprintf("too large: %d bytes, the limit is %d", st.Size(), opts.MaxFileBytes), nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Skipped, "unreadable: " + errText(err), nil, nil
	}
	if int64(len(data)) > opts.MaxFileBytes {
		return Skipped, fmt.Sprintf("too large: %d bytes, the limit is %d", len(data), opts.MaxFileBytes), nil, nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Skipped, "empty", nil, nil
	}
	if bytes.IndexByte(data[:min(len(data), 8192)], 0) >= 0 {
		return Skipped, "binary", nil, nil
	}
	if !utf8.Valid(data) {
		return Skipped, "invalid UTF-8", nil, nil
	}
	hash := hashBytes(data)
	old, err := store.Source(ctx, path)
	switch {
	case err == nil && old.Hash == hash:
		return Unchanged, "", nil, nil
	case err == nil:
		action = Updated
	case errors.Is(err, ErrNotFound):
		action = Added
	default:
		return "", "", nil, fmt.Errorf("memory: look up %s: %w", path, err)
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	var doc Document
	switch kind {
	case "markdown":
		doc = ParseMarkdown(text, true)
	case "html":
		doc = ParseHTML(text)
	default:
		doc = ParseMarkdown(text, false)
		doc.Kind = "text"
	}
	cs := Split(doc, opts.ChunkRunes)
	if len(cs) == 0 {
		return Skipped, "no text", nil, nil
	}
	src := Source{Path: path, Title: doc.Title, Meta: doc.Meta, Kind: doc.Kind, Hash: hash, Size: int64(len(data)),
		Commit: git.commit(ctx, path), IngestedAt: opts.Now().UTC()}
	if src.Title == "" {
		src.Title = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	for i := range cs {
		cs[i].Source, cs[i].Title, cs[i].Commit, cs[i].IngestedAt = src.Path, src.Title, src.Commit, src.IngestedAt
	}
	return action, "", &Update{Source: src, Chunks: cs}, nil
}

func hashBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hashString(s string) string { return hashBytes([]byte(s)) }

// gitInfo finds the last commit of files in git repositories, remembering which folders are not in
// one so that git runs only where it can answer.
type gitInfo struct {
	git    string
	inRepo map[string]bool // by folder
}

func newGitInfo(git string) *gitInfo { return &gitInfo{git: git, inRepo: map[string]bool{}} }

// repo reports whether dir is inside a git work tree (a .git entry in it or a parent).
func (g *gitInfo) repo(dir string) bool {
	if v, ok := g.inRepo[dir]; ok {
		return v
	}
	v := false
	if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
		v = true
	} else if parent := filepath.Dir(dir); parent != dir {
		v = g.repo(parent)
	}
	g.inRepo[dir] = v
	return v
}

// commit returns the hash of the last commit that touched path, or "" when there is none or git is
// unavailable.
func (g *gitInfo) commit(ctx context.Context, path string) string {
	if g.git == "" || !g.repo(filepath.Dir(path)) {
		return ""
	}
	cmd := exec.CommandContext(ctx, g.git, "log", "-1", "--format=%H", "--", filepath.Base(path))
	cmd.Dir = filepath.Dir(path)
	cmd.Env = []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=/nonexistent",
		"LC_ALL=C", "GIT_OPTIONAL_LOCKS=0", "GIT_TERMINAL_PROMPT=0"}
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if len(c) != 40 && len(c) != 64 {
		return ""
	}
	return c
}
