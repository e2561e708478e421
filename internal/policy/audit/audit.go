// Package audit is seance's tamper-evident audit log: an append-only file of JSON lines, one per tool
// call, policy decision, approval or policy change, each holding the SHA-256 of the previous line's
// exact bytes, so that Verify finds any edited, deleted, inserted or reordered entry and says which.
// A separate head file records the last entry's sequence number and hash, so that cutting entries off
// the end is detected too (unless the head file is rewritten along with the log: see docs/CONTROL.md).
//
// Appends are crash-safe: one write(2) of the whole line to a file opened with O_APPEND, then fsync;
// an advisory lock serialises writers of several processes. A line torn by a crash is detected when the
// log is opened or verified and reported as ErrTorn, never silently accepted.
//
// audit imports only fault; internal/policy records its decisions here and internal/app opens the log
// at <home>/audit.log.
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/fault"
)

// Entry is one record of the log. Fields that do not apply stay empty.
type Entry struct {
	// Seq numbers entries from 1 without gaps; Append sets it.
	Seq int64 `json:"seq"`
	// Time is when the entry was appended (UTC); Append sets it when zero.
	Time time.Time `json:"time"`
	// Kind says what happened: "call" (a tool call and its outcome), "decision", "request", "grant",
	// "deny", "policy" (a policy change), or another short word.
	Kind  string `json:"kind"`
	Run   string `json:"run,omitempty"`
	Agent string `json:"agent,omitempty"`
	Tool  string `json:"tool,omitempty"`
	// Argv is the command line of a run call; Args the JSON arguments of other tools.
	Argv []string        `json:"argv,omitempty"`
	Args json.RawMessage `json:"args,omitempty"`
	// Decision is the policy's answer ("allow", "ask", "deny") and Reason its explanation.
	Decision string `json:"decision,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// ApprovedBy names the person who granted an "ask" (or a request); "policy" for automatic approval.
	ApprovedBy string `json:"approved_by,omitempty"`
	// Exit is the exit status of a process; nil when none ran.
	Exit       *int   `json:"exit,omitempty"`
	DurationMS int64  `json:"duration_ms,omitempty"`
	BytesIn    int64  `json:"bytes_in,omitempty"`
	BytesOut   int64  `json:"bytes_out,omitempty"`
	Commit     string `json:"commit,omitempty"`
	Error      string `json:"error,omitempty"`
	// Network summarises what a sandboxed process asked of its network proxy: attempts allowed and
	// refused, the refused hosts, bytes moved.
	Network string `json:"network,omitempty"`
	// Prev is the hex SHA-256 of the previous line's bytes (without its newline); empty for entry 1.
	Prev string `json:"prev"`
}

// Hash returns the hex SHA-256 of line, the canonical bytes of an entry as stored (no newline).
func Hash(line []byte) string {
	s := sha256.Sum256(line)
	return hex.EncodeToString(s[:])
}

// ErrTorn reports an incomplete last line: the process appending it crashed, or the file was cut.
var ErrTorn = errors.New("audit log: torn last entry")

// Log is an audit log open for appending. It is safe for concurrent use; several processes may append
// to the same file (an advisory lock serialises them).
type Log struct {
	path string
	mu   sync.Mutex
	f    *os.File
	size int64  // file size after our last append or scan
	seq  int64  // last entry's number
	last string // last entry's hash
}

// HeadPath returns the path of the head file kept beside a log.
func HeadPath(logPath string) string { return logPath + ".head" }

// Open opens (creating when absent) the log at path for appending. A log whose last line is torn is
// refused with an error wrapping ErrTorn that names the line; so is a log whose chain is broken, since
// appending to it would hide the damage. Use Verify for the detailed report.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	l := &Log{path: path, f: f}
	if err := lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: lock: %w", path, err)
	}
	err = l.catchUp()
	if err == nil {
		err = l.checkHead()
	}
	unlock(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// checkHead compares the log with its head file, so that a log whose tail was cut off (or whose last
// entry was replaced) is not extended: appending would overwrite the head file, the only evidence.
func (l *Log) checkHead() error {
	h, err := ReadHead(HeadPath(l.path))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	}
	if p := headProblem(h, l.seq, l.last); p != nil {
		return fault.New(fault.Unprocessable, "audit log %s broken at entry %d: %s", l.path, p.Entry, p.What)
	}
	return nil
}

// headProblem compares a head file's record with the log's last entry.
func headProblem(h Head, seq int64, last string) *Problem {
	switch {
	case h.Seq > seq:
		return &Problem{Entry: seq + 1, What: fmt.Sprintf("the head file records %d entries but the log ends after %d: the tail was cut off", h.Seq, seq)}
	case h.Seq == seq && h.Hash != last:
		return &Problem{Entry: seq, What: "the last entry's hash differs from the one recorded in the head file (last entry edited or replaced)"}
	case seq-h.Seq > 1:
		// One entry ahead is a writer that crashed between the log's fsync and the head's rename.
		return &Problem{Entry: h.Seq + 1, What: fmt.Sprintf("the log holds %d entries but the head file records %d (head file rolled back, or entries appended by hand)", seq, h.Seq)}
	}
	return nil
}

// catchUp reads entries appended since l.size (by this or another process) and checks their chain.
// The caller holds the file lock.
func (l *Log) catchUp() error {
	st, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("audit log %s: %w", l.path, err)
	}
	if st.Size() == l.size {
		return nil
	}
	if st.Size() < l.size {
		return fault.New(fault.Unprocessable, "audit log %s shrank from %d to %d bytes: entries were removed", l.path, l.size, st.Size())
	}
	r := io.NewSectionReader(l.f, l.size, st.Size()-l.size)
	res := scan(r, l.seq, l.last, l.size, nil)
	if res.err != nil {
		return fmt.Errorf("audit log %s: %w", l.path, res.err)
	}
	l.seq, l.last, l.size = res.seq, res.last, st.Size()
	return nil
}

// Append completes e (Seq, Time, Prev), writes it as one line, syncs the file and updates the head
// file. It returns the entry as written.
func (l *Log) Append(e Entry) (Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return e, fault.New(fault.Internal, "audit log %s is closed", l.path)
	}
	if err := lock(l.f); err != nil {
		return e, fmt.Errorf("audit log %s: lock: %w", l.path, err)
	}
	defer unlock(l.f)
	if err := l.catchUp(); err != nil {
		return e, err
	}
	e.Seq = l.seq + 1
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	e.Prev = l.last
	if e.Kind == "" {
		e.Kind = "call"
	}
	line, err := marshal(e)
	if err != nil {
		return e, err
	}
	// One write of line+newline: with O_APPEND it lands at the end in one piece unless the process dies
	// midway, which leaves a torn line that the next Open reports.
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		return e, fmt.Errorf("audit log %s: append: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return e, fmt.Errorf("audit log %s: sync: %w", l.path, err)
	}
	l.seq, l.last = e.Seq, Hash(line)
	l.size += int64(len(line)) + 1
	if err := writeHead(HeadPath(l.path), Head{Seq: l.seq, Hash: l.last}); err != nil {
		return e, err
	}
	return e, nil
}

// Head returns the last entry's number and hash.
func (l *Log) Head() Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Head{Seq: l.seq, Hash: l.last}
}

// Path returns the log file's path.
func (l *Log) Path() string { return l.path }

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// marshal encodes e as its canonical line: encoding/json of the struct, fields in declaration order,
// no HTML escaping, no trailing newline.
func marshal(e Entry) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("audit entry: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Head is the last entry's number and hash, kept in a separate file so that truncation is detectable.
type Head struct {
	Seq  int64
	Hash string
}

// writeHead replaces the head file atomically (temporary file, fsync, rename).
func writeHead(path string, h Head) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("audit head %s: %w", path, err)
	}
	_, err = fmt.Fprintf(f, "%d %s\n", h.Seq, h.Hash)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("audit head %s: %w", path, err)
	}
	return nil
}

// ReadHead reads a head file.
func ReadHead(path string) (Head, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Head{}, err
	}
	h, err := ParseHead(b)
	if err != nil {
		return Head{}, fmt.Errorf("audit head %s: %w", path, err)
	}
	return h, nil
}

// ParseHead reads the content of a head file ("seq hash").
func ParseHead(b []byte) (Head, error) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return Head{}, fault.New(fault.Unprocessable, "malformed audit head")
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 || len(f[1]) != 64 {
		return Head{}, fault.New(fault.Unprocessable, "malformed audit head")
	}
	return Head{Seq: n, Hash: f[1]}, nil
}

// Problem is one finding of Verify.
type Problem struct {
	// Entry is the 1-based line number where the chain breaks (for a truncated tail, the first
	// missing entry).
	Entry int64
	// Offset is the byte offset of that line.
	Offset int64
	What   string
	// Torn says the problem is an incomplete last line (a crash while appending; see Repair).
	Torn bool
}

// Report is the result of Verify.
type Report struct {
	// Entries is the number of well-formed entries read before the first problem.
	Entries int64
	// Head is the last good entry's number and hash.
	Head Head
	// HeadChecked says whether a head file was found and compared.
	HeadChecked bool
	// Checkpoints is the number of outside checkpoints compared.
	Checkpoints int
	// Problem is the first problem found, nil when the log is intact.
	Problem *Problem
}

// OK reports whether no problem was found.
func (r Report) OK() bool { return r.Problem == nil }

// scanResult is what scan found.
type scanResult struct {
	seq   int64
	last  string
	err   error
	prob  *Problem
	count int64
}

// scan reads lines from r, which starts at byte offset base after entry seq with hash last, and checks
// each: well-formed JSON of an Entry, complete (ends in a newline), the next sequence number, and a
// Prev equal to the hash of the previous line.
func scan(r io.Reader, seq int64, last string, base int64, seen func(seq int64, hash string)) scanResult {
	br := bufio.NewReaderSize(r, 64*1024)
	off := base
	res := scanResult{seq: seq, last: last}
	fail := func(what string, torn bool) scanResult {
		res.prob = &Problem{Entry: res.seq + 1, Offset: off, What: what, Torn: torn}
		if torn {
			res.err = fmt.Errorf("%w: entry %d at byte %d: %s", ErrTorn, res.seq+1, off, what)
		} else {
			res.err = fault.New(fault.Unprocessable, "audit log broken at entry %d (byte %d): %s", res.seq+1, off, what)
		}
		return res
	}
	for {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return res
		}
		if err != nil && err != io.EOF {
			res.err = err
			return res
		}
		if err == io.EOF { // no newline: the last write did not complete
			return fail(fmt.Sprintf("incomplete line of %d bytes without a newline", len(line)), true)
		}
		line = line[:len(line)-1]
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return fail("not a valid entry: "+err.Error(), false)
		}
		canon, err := marshal(e)
		if err != nil || !bytes.Equal(canon, line) {
			return fail("entry is not in canonical form (edited)", false)
		}
		switch {
		case e.Seq != res.seq+1:
			return fail(fmt.Sprintf("sequence number %d where %d was expected (entries deleted, inserted or reordered)", e.Seq, res.seq+1), false)
		case e.Prev != res.last:
			return fail(fmt.Sprintf("hash of the previous entry does not match (entry %d was edited, or entries were removed or inserted before this one)", res.seq), false)
		}
		res.seq, res.last = e.Seq, Hash(line)
		res.count++
		if seen != nil {
			seen(res.seq, res.last)
		}
		off += int64(len(line)) + 1
	}
}

// Verify reads the whole log at path and checks the chain; when the head file beside it exists it also
// checks that the log ends exactly at the recorded head (detecting entries cut off the end). Each
// checkpoint (a head kept elsewhere, e.g. committed to the home repository) must name an entry the log
// still holds, with the same hash. A missing log is an error; problems in the log are reported in
// Report.Problem, not as an error.
func Verify(path string, checkpoints ...Head) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, fmt.Errorf("audit log %s: %w", path, err)
	}
	defer f.Close()
	want := map[int64]string{}
	for _, c := range checkpoints {
		want[c.Seq] = c.Hash
	}
	var bad *Problem
	res := scan(f, 0, "", 0, func(seq int64, hash string) {
		if h, ok := want[seq]; ok && h != hash && bad == nil {
			bad = &Problem{Entry: seq, What: "the entry differs from a checkpoint kept outside the log (rewritten)"}
		}
	})
	rep := Report{Entries: res.count, Head: Head{Seq: res.seq, Hash: res.last}, Problem: res.prob}
	if res.prob == nil && res.err != nil {
		return rep, fmt.Errorf("audit log %s: %w", path, res.err)
	}
	if rep.Problem == nil && bad != nil {
		rep.Problem = bad
	}
	for _, c := range checkpoints {
		if rep.Problem == nil && c.Seq > res.seq {
			rep.Problem = &Problem{Entry: res.seq + 1, What: fmt.Sprintf("a checkpoint kept outside the log records entry %d but the log ends after %d: the tail was cut off", c.Seq, res.seq)}
		}
	}
	rep.Checkpoints = len(checkpoints)
	h, err := ReadHead(HeadPath(path))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return rep, nil
	case err != nil:
		return rep, err
	}
	rep.HeadChecked = true
	if rep.Problem != nil {
		return rep, nil
	}
	rep.Problem = headProblem(h, res.seq, res.last)
	return rep, nil
}

// Filter selects entries for Show; zero fields match everything.
type Filter struct {
	Run, Agent, Tool, Kind, Decision string
	Since, Until                     time.Time
}

func (f Filter) match(e Entry) bool {
	return (f.Run == "" || e.Run == f.Run) &&
		(f.Agent == "" || e.Agent == f.Agent) &&
		(f.Tool == "" || e.Tool == f.Tool) &&
		(f.Kind == "" || e.Kind == f.Kind) &&
		(f.Decision == "" || e.Decision == f.Decision) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until))
}

// Show returns the entries of the log at path that match filter, oldest first. It reads entries up to
// the first malformed or torn line and returns them with an error naming that line; it does not check
// the chain (Verify does).
func Show(path string, filter Filter) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64*1024)
	var out []Entry
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return out, nil
		}
		if err == io.EOF {
			return out, fmt.Errorf("audit log %s: %w: line %d", path, ErrTorn, n)
		}
		if err != nil {
			return out, fmt.Errorf("audit log %s: %w", path, err)
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return out, fault.Wrap(err, fault.Unprocessable, "audit log %s: line %d is not a valid entry", path, n)
		}
		if filter.match(e) {
			out = append(out, e)
		}
	}
}

// Repair handles a torn last line (ErrTorn) after a crash: it copies the incomplete bytes to a file
// beside the log (path.torn-<unix time>, returned) and truncates the log to its last complete entry.
// It refuses any other kind of damage, which must be investigated, not repaired. A person runs it;
// Open never repairs on its own.
func Repair(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("audit log %s: %w", path, err)
	}
	defer f.Close()
	if err := lock(f); err != nil {
		return "", fmt.Errorf("audit log %s: lock: %w", path, err)
	}
	defer unlock(f)
	res := scan(f, 0, "", 0, nil)
	if res.prob == nil {
		if res.err != nil {
			return "", fmt.Errorf("audit log %s: %w", path, res.err)
		}
		return "", nil // nothing to repair
	}
	if !errors.Is(res.err, ErrTorn) {
		return "", fmt.Errorf("audit log %s: refusing to repair: %w", path, res.err)
	}
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	tail := make([]byte, st.Size()-res.prob.Offset)
	if _, err := f.ReadAt(tail, res.prob.Offset); err != nil {
		return "", fmt.Errorf("audit log %s: read torn tail: %w", path, err)
	}
	saved := fmt.Sprintf("%s.torn-%d", path, time.Now().Unix())
	if err := os.WriteFile(saved, tail, 0o600); err != nil {
		return "", fmt.Errorf("audit log %s: save torn tail: %w", path, err)
	}
	if err := f.Truncate(res.prob.Offset); err != nil {
		return "", fmt.Errorf("audit log %s: truncate: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	return saved, nil
}
