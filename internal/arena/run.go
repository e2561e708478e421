package arena

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/runid"

	"github.com/seance-dev/seance/internal/arena/verify"
	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/team"
)

// Contestant is a model (or team) that answers a suite's items.
type Contestant struct {
	// Name identifies it in results, reports and ratings.
	Name  string
	Model llm.Model
	// Team is set when the contestant is a team; BaseName and Base are then its base model (the
	// model of its first agent), against which --compute-matched compares it.
	Team     bool
	BaseName string
	Base     llm.Model
	// Files maps the team and agent files the contestant was built from to their content hashes
	// (provenance for exported datasets).
	Files map[string]string
}

// Progress reports how far a run is.
type Progress struct {
	// Phase is "answers" for the contestants, "compute-matched" for the baseline votes.
	Phase   string
	Done    int
	Total   int
	Correct int
	Errors  int
	// Skipped counts answers already recorded by an earlier, interrupted run of the same id.
	Skipped int
	Elapsed time.Duration
}

// RunOptions configure a run.
type RunOptions struct {
	// ID names the run (a new one when empty); its results live in Dir/ID.
	ID  string
	Dir string
	// Suite is the loaded suite; SuitePath and Format say where it came from (recorded, so a run can
	// be resumed).
	Suite     *Suite
	SuitePath string
	Format    Format
	// Contestants answer every item.
	Contestants []Contestant
	// Runner runs code items' tests (the sandbox); needed only for code suites.
	Runner verify.CodeRunner
	// Seed makes the run deterministic: each item and contestant gets a seed derived from it.
	Seed uint64
	// Limit takes only the first Limit items (0: all).
	Limit int
	// Concurrency bounds the answers in flight (1 when 0).
	Concurrency int
	// MaxTokens bounds each completion (1024 when 0).
	MaxTokens int
	// Temperature is sent with every request when set; VoteTemperature is used by the compute-matched
	// baseline's samples (0.7 when 0), which need variety to vote.
	Temperature     *float64
	VoteTemperature float64
	// ComputeMatched adds, for every team contestant, its base model's self-consistency vote at the
	// same number of generated tokens per item (see docs/ARENA.md).
	ComputeMatched bool
	// Resume continues the run ID: items already recorded are skipped, except a compute-matched
	// vote whose team's answer was asked again since (its token target changed).
	Resume bool
	// RetryErrors, on resume, asks again the answers recorded with an error (a server that was down,
	// a timeout); the new answer is appended and supersedes the old one.
	RetryErrors bool
	// Progress, when set, is called after every answer (never concurrently).
	Progress func(Progress)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Meta describes a run; it is written to run.json when the run starts. JSON tags: a file format.
type Meta struct {
	ID             string          `json:"id"`
	Suite          string          `json:"suite"`
	SuitePath      string          `json:"suite_path"`
	Format         Format          `json:"format"`
	Contestants    []ContestantRef `json:"contestants"`
	Seed           uint64          `json:"seed"`
	Limit          int             `json:"limit,omitempty"`
	MaxTokens      int             `json:"max_tokens"`
	Temperature    *float64        `json:"temperature,omitempty"`
	ComputeMatched bool            `json:"compute_matched,omitempty"`
	Started        time.Time       `json:"started"`
}

// ContestantRef is a contestant as run.json records it.
type ContestantRef struct {
	Name  string            `json:"name"`
	Team  bool              `json:"team,omitempty"`
	Base  string            `json:"base,omitempty"`
	Files map[string]string `json:"files,omitempty"`
}

// Record is one contestant's answer to one item, as a line of results.jsonl.
type Record struct {
	Run        string `json:"run"`
	Suite      string `json:"suite"`
	Item       string `json:"item"`
	Contestant string `json:"contestant"`
	Verifier   Kind   `json:"verifier"`
	// Prompt is the user message sent; Answer the reply (a vote's: the reply that carried the winner).
	Prompt    string `json:"prompt"`
	Answer    string `json:"answer"`
	Extracted string `json:"extracted,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Verified is set when the verifier judged the answer; Correct is its verdict.
	Verified bool `json:"verified"`
	Correct  bool `json:"correct"`
	// Error is set when the contestant (or the verifier) failed; the item then counts as wrong.
	Error            string        `json:"error,omitempty"`
	Seed             int64         `json:"seed"`
	PromptTokens     int           `json:"prompt_tokens"`
	CompletionTokens int           `json:"completion_tokens"`
	FLOPs            float64       `json:"flops,omitempty"`
	Wall             time.Duration `json:"wall_ns"`
	// Samples and Agreement describe a compute-matched vote (Samples 0 for a single answer);
	// TargetTokens is the team's generated tokens the vote was matched to.
	Samples      int     `json:"samples,omitempty"`
	Agreement    float64 `json:"agreement,omitempty"`
	TargetTokens int     `json:"target_tokens,omitempty"`
	// Of names the team a compute-matched baseline stands against.
	Of string `json:"of,omitempty"`
	// TeamRun is the id of a team's saved run transcript.
	TeamRun string    `json:"team_run,omitempty"`
	Model   string    `json:"model,omitempty"`
	At      time.Time `json:"at"`
}

// The files of a run's folder.
const (
	MetaFile    = "run.json"
	ResultsFile = "results.jsonl"
	SummaryFile = "summary.json"
)

// BaselineName is the name of team's compute-matched baseline: its base model's vote.
func BaselineName(base, team string) string { return "vote(" + base + ")~" + team }

// ItemSeed is the seed of an item and contestant in a run with seed: the same inputs always give the
// same seed, different items or contestants different ones.
func ItemSeed(seed uint64, item, contestant string) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s\x00%s", seed, item, contestant)
	return int64(h.Sum64() >> 1)
}

// Result is what Run returns: the records of every answer (earlier runs' included when resumed).
type Result struct {
	Meta    Meta
	Dir     string
	Records []Record
}

// Run runs the contestants on the suite, persisting every answer as it is verified to
// Dir/ID/results.jsonl (fsync'd), so an interrupted run resumes where it stopped. It returns when
// every answer is recorded or ctx ends (then with ctx's error; what was recorded stays).
func Run(ctx context.Context, o RunOptions) (*Result, error) {
	if o.Suite == nil || len(o.Suite.Items) == 0 {
		return nil, fault.New(fault.Invalid, "arena run: the suite has no items")
	}
	if len(o.Contestants) == 0 {
		return nil, fault.New(fault.Invalid, "arena run: no contestants")
	}
	seen := map[string]bool{}
	for _, c := range o.Contestants {
		if c.Name == "" || c.Model == nil {
			return nil, fault.New(fault.Invalid, "arena run: a contestant without a name or model")
		}
		if seen[c.Name] {
			return nil, fault.New(fault.Invalid, "arena run: contestant %q named twice", c.Name)
		}
		seen[c.Name] = true
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 1024
	}
	if o.VoteTemperature <= 0 {
		o.VoteTemperature = 0.7
	}
	items := o.Suite.Items
	if o.Limit > 0 && o.Limit < len(items) {
		items = items[:o.Limit]
	}
	verifiers := make([]verify.Verifier, len(items))
	for i, it := range items {
		v, err := it.NewVerifier(o.Runner)
		if err != nil {
			return nil, fmt.Errorf("arena run: %w", err)
		}
		verifiers[i] = v
	}
	if o.ID == "" {
		if o.Resume {
			return nil, fault.New(fault.Invalid, "arena run: resume needs a run id")
		}
		o.ID = NewRunID(now())
	}
	if !runid.Valid(o.ID) {
		return nil, fault.Param("id", "run id %q: want letters, digits, '.', '_' and '-'", o.ID)
	}
	dir := filepath.Join(o.Dir, o.ID)
	meta := Meta{
		ID: o.ID, Suite: o.Suite.Name, SuitePath: o.SuitePath, Format: o.Format, Seed: o.Seed, Limit: o.Limit,
		MaxTokens: o.MaxTokens, Temperature: o.Temperature, ComputeMatched: o.ComputeMatched, Started: now().UTC(),
	}
	for _, c := range o.Contestants {
		meta.Contestants = append(meta.Contestants, ContestantRef{Name: c.Name, Team: c.Team, Base: c.BaseName, Files: c.Files})
	}
	var done []Record
	if o.Resume {
		old, err := ReadMeta(o.Dir, o.ID)
		if err != nil {
			return nil, err
		}
		meta.Started = old.Started
		done, err = ReadRecords(dir)
		if err != nil {
			return nil, err
		}
	} else {
		if _, err := os.Stat(dir); err == nil {
			return nil, fault.New(fault.Invalid, "arena run %s already exists (resume it with --resume %s)", o.ID, o.ID)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("arena run: %w", err)
		}
		b, _ := json.MarshalIndent(meta, "", "  ")
		if err := writeSynced(filepath.Join(dir, MetaFile), append(b, '\n')); err != nil {
			return nil, err
		}
	}
	st, err := openStore(filepath.Join(dir, ResultsFile))
	if err != nil {
		return nil, err
	}
	defer st.close()

	r := &runner{o: o, meta: meta, st: st, items: items, verifiers: verifiers, now: now, start: now(), recorded: map[string]Record{}}
	for _, rec := range done {
		r.recorded[key(rec.Item, rec.Contestant)] = rec
	}
	// Phase 1: every contestant answers every item.
	var jobs []job
	for i := range items {
		for c := range o.Contestants {
			jobs = append(jobs, job{item: i, contestant: c})
		}
	}
	if err := r.phase(ctx, "answers", jobs); err != nil {
		return r.result(dir), err
	}
	// Phase 2: the compute-matched baselines, once their team's answer (and its tokens) is known.
	if o.ComputeMatched {
		jobs = jobs[:0]
		for i := range items {
			for c, ct := range o.Contestants {
				if ct.Team && ct.Base != nil {
					jobs = append(jobs, job{item: i, contestant: c, baseline: true})
				}
			}
		}
		if err := r.phase(ctx, "compute-matched", jobs); err != nil {
			return r.result(dir), err
		}
	}
	return r.result(dir), nil
}

// NewRunID returns a fresh run id: the UTC time and a short suffix from the clock's nanoseconds.
func NewRunID(t time.Time) string {
	return t.UTC().Format("20060102-150405") + fmt.Sprintf("-%06x", t.Nanosecond()&0xffffff)
}

type job struct {
	item, contestant int
	baseline         bool
}

type runner struct {
	o         RunOptions
	meta      Meta
	st        *store
	items     []Item
	verifiers []verify.Verifier
	now       func() time.Time
	start     time.Time

	mu       sync.Mutex
	recorded map[string]Record
	progress Progress
}

func key(item, contestant string) string { return item + "\x00" + contestant }

func (r *runner) name(j job) string {
	c := r.o.Contestants[j.contestant]
	if j.baseline {
		return BaselineName(c.BaseName, c.Name)
	}
	return c.Name
}

// phase runs jobs with at most Concurrency in flight, skipping those already recorded.
func (r *runner) phase(ctx context.Context, name string, jobs []job) error {
	r.mu.Lock()
	r.progress = Progress{Phase: name, Total: len(jobs)}
	var todo []job
	for _, j := range jobs {
		if rec, ok := r.recorded[key(r.items[j.item].ID, r.name(j))]; ok && r.keep(j, rec) {
			r.progress.Done++
			r.progress.Skipped++
			r.count(rec)
			continue
		}
		todo = append(todo, j)
	}
	r.report()
	r.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feed := make(chan job)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	for range min(r.o.Concurrency, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range feed {
				rec, err := r.answer(ctx, j)
				if err != nil {
					fail(err)
					continue
				}
				if err := r.record(rec); err != nil {
					fail(err)
				}
			}
		}()
	}
send:
	for _, j := range todo {
		select {
		case feed <- j:
		case <-ctx.Done():
			break send
		}
	}
	close(feed)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// keep reports whether the recorded answer rec of job j stands (r.mu held): not when it failed and
// errors are retried, nor when it is a compute-matched vote matched to a team answer that has been
// replaced since (the target tokens no longer match).
func (r *runner) keep(j job, rec Record) bool {
	if rec.Error != "" && r.o.RetryErrors {
		return false
	}
	if j.baseline {
		teamRec, ok := r.recorded[key(r.items[j.item].ID, r.o.Contestants[j.contestant].Name)]
		if !ok || teamRec.CompletionTokens != rec.TargetTokens {
			return false
		}
	}
	return true
}

// count adds rec to the progress (r.mu held).
func (r *runner) count(rec Record) {
	if rec.Correct {
		r.progress.Correct++
	}
	if rec.Error != "" {
		r.progress.Errors++
	}
}

func (r *runner) report() {
	if r.o.Progress != nil {
		p := r.progress
		p.Elapsed = r.now().Sub(r.start)
		r.o.Progress(p)
	}
}

func (r *runner) record(rec Record) error {
	if err := r.st.append(rec); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recorded[key(rec.Item, rec.Contestant)] = rec
	r.progress.Done++
	r.count(rec)
	r.report()
	return nil
}

func (r *runner) result(dir string) *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := &Result{Meta: r.meta, Dir: dir}
	for _, rec := range r.recorded {
		out.Records = append(out.Records, rec)
	}
	sortRecords(out.Records)
	return out
}

func sortRecords(rs []Record) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Contestant != rs[j].Contestant {
			return rs[i].Contestant < rs[j].Contestant
		}
		return rs[i].Item < rs[j].Item
	})
}

// request builds the request for an item.
func (r *runner) request(prompt string, seed int64, temp *float64) *chat.Request {
	return &chat.Request{
		Messages:  []chat.Message{{Role: chat.User, Content: prompt}},
		MaxTokens: r.o.MaxTokens,
		Sampling:  chat.Sampling{Seed: &seed, Temperature: temp},
	}
}

// answer asks one contestant one item and verifies the reply. Its error is only for what must stop
// the run (ctx ended, the verifier could not work); a failing contestant is a record with Error set.
func (r *runner) answer(ctx context.Context, j job) (Record, error) {
	it, c := r.items[j.item], r.o.Contestants[j.contestant]
	name := r.name(j)
	prompt := Prompt(r.o.Format, it)
	rec := Record{
		Run: r.meta.ID, Suite: r.meta.Suite, Item: it.ID, Contestant: name, Verifier: it.Verifier,
		Prompt: prompt, Seed: ItemSeed(r.o.Seed, it.ID, name),
	}
	start := time.Now()
	var err error
	if j.baseline {
		err = r.vote(ctx, c, it, &rec)
	} else {
		var resp *chat.Response
		var teamRun string
		cctx := llm.WithRunObserver(ctx, func(id string) { teamRun = id })
		resp, err = c.Model.Chat(cctx, r.request(prompt, rec.Seed, r.o.Temperature), nil)
		rec.TeamRun = teamRun
		if err == nil {
			rec.Answer, rec.Model = resp.Message.Content, resp.Model
			rec.PromptTokens, rec.CompletionTokens, rec.FLOPs = resp.Usage.PromptTokens, resp.Usage.CompletionTokens, resp.Usage.FLOPs
		}
	}
	rec.Wall = time.Since(start)
	rec.At = r.now().UTC()
	if err != nil {
		if ctx.Err() != nil {
			return rec, ctx.Err()
		}
		rec.Error = err.Error()
		return rec, nil
	}
	v, err := r.verifiers[j.item].Verify(ctx, rec.Answer)
	if err != nil {
		if ctx.Err() != nil {
			return rec, ctx.Err()
		}
		return rec, fmt.Errorf("verify %s for %s: %w", it.ID, name, err)
	}
	rec.Verified, rec.Correct, rec.Extracted, rec.Reason = true, v.Correct, v.Extracted, v.Reason
	return rec, nil
}

// vote samples the team's base model until its generated tokens come closest to what the team
// generated on the item (at least one sample), then takes the majority answer.
func (r *runner) vote(ctx context.Context, c Contestant, it Item, rec *Record) error {
	r.mu.Lock()
	teamRec, ok := r.recorded[key(it.ID, c.Name)]
	r.mu.Unlock()
	target := 0
	if ok {
		target = teamRec.CompletionTokens
	}
	rec.Of, rec.TargetTokens = c.Name, target
	temp := r.o.VoteTemperature
	var replies []string
	var ballots []team.Ballot
	var lastTokens int
	extract := extractorFor(it.Verifier)
	for i := 0; ; i++ {
		if i > 0 && rec.CompletionTokens >= target {
			// Drop the last sample when the total without it is closer to the target.
			if n := len(replies); n > 1 && rec.CompletionTokens-target > target-(rec.CompletionTokens-lastTokens) {
				replies, ballots = replies[:n-1], ballots[:n-1]
				rec.CompletionTokens -= lastTokens
			}
			break
		}
		if i >= maxVoteSamples {
			break
		}
		seed := rec.Seed + int64(i)
		resp, err := c.Base.Chat(ctx, r.request(rec.Prompt, seed, &temp), nil)
		if err != nil {
			if len(replies) == 0 || ctx.Err() != nil {
				return err
			}
			break
		}
		text := resp.Message.Content
		replies = append(replies, text)
		ballots = append(ballots, team.Ballot{Index: i, Text: voteText(it.Verifier, text)})
		lastTokens = resp.Usage.CompletionTokens
		if lastTokens <= 0 {
			lastTokens = 1 // a model that reports no tokens still spent a sample
		}
		rec.PromptTokens += resp.Usage.PromptTokens
		rec.CompletionTokens += lastTokens
		rec.FLOPs += resp.Usage.FLOPs
		rec.Model = resp.Model
	}
	t := team.Count(extract, ballots)
	rec.Samples = len(replies)
	rec.Agreement = t.Agreement
	if t.Winner >= 0 && t.Winner < len(replies) {
		rec.Answer = replies[t.Winner]
	} else {
		rec.Answer = replies[0]
	}
	return nil
}

// maxVoteSamples bounds a compute-matched vote (a team that generated far more than its base model
// per answer would otherwise take an unbounded number of samples).
const maxVoteSamples = 64

func extractorFor(k Kind) team.Extract {
	switch k {
	case Numeric:
		return team.ExtractNumber
	case Choice:
		return team.ExtractChoice
	case Code:
		return team.ExtractCode
	}
	return team.ExtractExact
}

// voteText is what a sample contributes to the vote: the reply, or for LaTeX answers the normalised
// final answer (the team's extractors know no LaTeX).
func voteText(k Kind, reply string) string {
	if k == LaTeX {
		return verify.NormalizeLaTeX(verify.ExtractFinal(reply))
	}
	return reply
}

// store appends records to a JSONL file, one fsync'd line each.
type store struct {
	mu sync.Mutex
	f  *os.File
}

// openStore opens the results file for appending. A last line cut short by a crash (which
// ReadRecords ignores) is cut off first, so that the next record starts a line of its own.
func openStore(path string) (*store, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("arena results: %w", err)
	}
	if err := cutTornTail(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("arena results: %w", err)
	}
	return &store{f: f}, nil
}

// cutTornTail ends f with a newline: a last line that is a whole record (only its newline was lost)
// gets one, anything else after the last newline is cut off.
func cutTornTail(f *os.File) error {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	b, err := io.ReadAll(io.NewSectionReader(f, 0, st.Size()))
	if err != nil {
		return err
	}
	if b[len(b)-1] == '\n' {
		return nil
	}
	cut := bytes.LastIndexByte(b, '\n') + 1
	if json.Valid(b[cut:]) {
		if _, err := f.Write([]byte{'\n'}); err != nil {
			return err
		}
		return f.Sync()
	}
	if err := f.Truncate(int64(cut)); err != nil {
		return err
	}
	return f.Sync()
}

func (s *store) append(rec Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("arena results: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("arena results: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("arena results: %w", err)
	}
	return nil
}

func (s *store) close() error { return s.f.Close() }

func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ReadMeta reads run id's run.json from dir.
func ReadMeta(dir, id string) (Meta, error) {
	if !runid.Valid(id) {
		return Meta{}, fault.Param("id", "run id %q: want letters, digits, '.', '_' and '-'", id)
	}
	b, err := os.ReadFile(filepath.Join(dir, id, MetaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Meta{}, fault.New(fault.NotFound, "no arena run %q in %s", id, dir)
	}
	if err != nil {
		return Meta{}, fmt.Errorf("arena run %s: %w", id, err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return Meta{}, fault.Wrap(err, fault.Unprocessable, "arena run %s: %s is not valid", id, MetaFile)
	}
	return m, nil
}

// ReadRecords reads a run folder's results. A last line cut short by a crash is ignored (its answer
// is asked again on resume); a damaged line elsewhere is an error naming it. When an item and
// contestant appear twice, the later line wins.
func ReadRecords(runDir string) ([]Record, error) {
	b, err := os.ReadFile(filepath.Join(runDir, ResultsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("arena results: %w", err)
	}
	var out []Record
	index := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			if !bytes.HasSuffix(b, []byte("\n")) && isLastLine(b, n) {
				break // a torn final write
			}
			return nil, fault.Wrap(err, fault.Unprocessable, "%s line %d", filepath.Join(runDir, ResultsFile), n)
		}
		k := key(rec.Item, rec.Contestant)
		if i, ok := index[k]; ok {
			out[i] = rec
			continue
		}
		index[k] = len(out)
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("arena results: %w", err)
	}
	return out, nil
}

func isLastLine(b []byte, n int) bool {
	return strings.Count(strings.TrimRight(string(b), "\n"), "\n")+1 == n
}
