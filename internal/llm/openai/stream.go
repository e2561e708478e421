package openai

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/llm/toolcalls"
)

// maxEventLine bounds one line of a server-sent event stream.
const maxEventLine = 16 << 20

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	event string
	data  []byte
	done  bool // the data was [DONE]
}

// eventReader parses a text/event-stream: "data:" lines (several per event are joined with "\n"),
// "event:" names, ":" comments, blank lines between events, and LF or CRLF line ends.
type eventReader struct {
	r *bufio.Reader
}

func newEventReader(r io.Reader) *eventReader {
	return &eventReader{r: bufio.NewReaderSize(r, 64<<10)}
}

var errLineTooLong = errors.New("event stream line too long")

// readLine returns the next line without its line end, or io.EOF after the last one.
func (e *eventReader) readLine() ([]byte, error) {
	var line []byte
	for {
		part, err := e.r.ReadSlice('\n')
		line = append(line, part...)
		if len(line) > maxEventLine {
			return nil, errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(line) > 0 {
			err = nil
		}
		if err != nil {
			return nil, err
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
}

// next returns the next event with data, or io.EOF at the end of the stream.
func (e *eventReader) next() (sseEvent, error) {
	var ev sseEvent
	var data [][]byte
	for {
		line, err := e.readLine()
		if err == io.EOF && len(data) > 0 {
			break // a last event without its blank line
		}
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if len(data) > 0 {
				break
			}
			ev.event = ""
			continue
		}
		if line[0] == ':' {
			continue // a comment (keep-alive)
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			data = append(data, value)
		case "event":
			ev.event = string(value)
		}
	}
	ev.data = bytes.Join(data, []byte("\n"))
	ev.done = string(bytes.TrimSpace(ev.data)) == "[DONE]"
	return ev, nil
}

// callState is one tool call being assembled from stream fragments.
type callState struct {
	slot      int // our index, in order of appearance
	id        string
	realID    bool // id came from the server
	name      string
	args      strings.Builder
	announced bool // its first delta (id, name) was passed on
}

// startsNew reports whether a fragment with this id and name opens a new call rather than continuing
// st. Some servers send parallel calls all with index 0; a new id, or a name arriving once st's
// arguments are complete, tells them apart.
func (st *callState) startsNew(id, name string) bool {
	if id != "" && st.realID {
		return id != st.id
	}
	complete := argsComplete(st.args.String())
	if id != "" && st.name != "" && complete {
		return true
	}
	if name != "" && st.name != "" {
		return name != st.name || complete
	}
	return false
}

func argsComplete(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && json.Valid([]byte(s))
}

// accumulator assembles a streamed reply and passes deltas on.
type accumulator struct {
	req    *chat.Request
	stream chat.StreamFunc
	// guard holds back text that may be a tool call written as text (see toolcalls.SafePrefix).
	guard bool

	content    strings.Builder
	emitted    int // bytes of content passed on
	calls      []*callState
	byIndex    map[int]*callState
	finishWire string
	usage      *wireUsage
	timings    *wireTimings
	seance     *wireSeance
	model      string
	logprobs   []chat.TokenLogprob

	sawChunk  bool
	delivered bool // a delta reached the caller: no more retries
	ttft      time.Duration
}

func newAccumulator(req *chat.Request, guard bool, stream chat.StreamFunc) *accumulator {
	return &accumulator{req: req, stream: stream, guard: guard, byIndex: map[int]*callState{}}
}

// add folds one chunk into the reply and passes its delta on.
func (a *accumulator) add(ch wireResponse, start time.Time) error {
	a.sawChunk = true
	if ch.Model != "" {
		a.model = ch.Model
	}
	if ch.Usage != nil {
		a.usage = ch.Usage
	}
	if ch.Timings != nil {
		a.timings = ch.Timings
	}
	if ch.Seance != nil {
		a.seance = ch.Seance
	}
	var out chat.Delta
	for _, choice := range ch.Choices {
		if choice.Index != 0 {
			continue // only one choice is requested
		}
		d := choice.Delta
		if d == nil && choice.Message != nil && a.content.Len() == 0 && len(a.calls) == 0 {
			d = choice.Message // a server that sends whole messages in its stream
		}
		if choice.FinishReason != nil && *choice.FinishReason != "" {
			a.finishWire = *choice.FinishReason
		}
		if lp := convertLogprobs(choice.Logprobs); len(lp) > 0 {
			a.logprobs = append(a.logprobs, lp...)
			out.Logprobs = append(out.Logprobs, lp...)
		}
		if d == nil {
			continue
		}
		// reasoning_content / reasoning are deliberately not mixed into content.
		if d.Content != nil && *d.Content != "" {
			a.content.WriteString(*d.Content)
			out.Content += a.releasable()
		}
		for _, tc := range d.ToolCalls {
			out.ToolCalls = append(out.ToolCalls, a.addCall(tc)...)
		}
		if d.FunctionCall != nil {
			zero := 0
			out.ToolCalls = append(out.ToolCalls, a.addCall(wireToolCall{Index: &zero, Function: *d.FunctionCall})...)
		}
	}
	return a.emit(out, start)
}

// releasable returns the content not yet passed on that may be passed on now.
func (a *accumulator) releasable() string {
	text := a.content.String()
	safe := len(text)
	switch {
	case a.guard && a.emitted == 0:
		safe = toolcalls.SafePrefix(text, a.req.Tools)
	case a.guard:
		// The start is known not to be a call; only tags after what was passed on matter.
		safe = a.emitted + toolcalls.TagIndex(text[a.emitted:])
	}
	if safe <= a.emitted {
		return ""
	}
	s := text[a.emitted:safe]
	a.emitted = safe
	return s
}

func (a *accumulator) emit(d chat.Delta, start time.Time) error {
	if d.Content == "" && len(d.ToolCalls) == 0 && len(d.Logprobs) == 0 {
		return nil
	}
	if !a.delivered {
		a.delivered = true
		a.ttft = time.Since(start)
	}
	return a.stream(d)
}

// addCall folds one tool-call fragment in and returns the deltas to pass on. A call is announced
// (its first delta, with id and name) once its name is known; a missing id is generated.
func (a *accumulator) addCall(tc wireToolCall) []chat.ToolCallDelta {
	var st *callState
	if tc.Index != nil {
		st = a.byIndex[*tc.Index]
	} else if len(a.calls) > 0 {
		st = a.calls[len(a.calls)-1]
	}
	name := tc.Function.Name
	if st != nil && st.startsNew(tc.ID, name) {
		st = nil
	}
	if st == nil {
		st = &callState{slot: len(a.calls)}
		a.calls = append(a.calls, st)
		if tc.Index != nil {
			a.byIndex[*tc.Index] = st
		}
	}
	if tc.ID != "" && st.id == "" {
		st.id, st.realID = tc.ID, true
	}
	if name != "" && st.name == "" {
		st.name = name
	}
	frag := argumentsText(tc.Function.Arguments)
	raw := bytes.TrimSpace(tc.Function.Arguments)
	if len(raw) > 0 && raw[0] == '{' {
		// Arguments sent as an object are complete in themselves.
		st.args.Reset()
	}
	st.args.WriteString(frag)
	if !st.announced {
		if st.name == "" {
			return nil // wait for the name
		}
		if st.id == "" {
			st.id = generatedID(st.slot)
		}
		st.announced = true
		return []chat.ToolCallDelta{{Index: st.slot, ID: st.id, Name: st.name, Arguments: st.args.String()}}
	}
	if frag == "" {
		return nil
	}
	return []chat.ToolCallDelta{{Index: st.slot, Arguments: frag}}
}

// finish returns the complete reply, repairing text tool calls and flushing held-back text.
func (a *accumulator) finish(start time.Time) (*chat.Response, error) {
	var calls []chat.ToolCall
	for _, st := range a.calls {
		if st.name == "" {
			continue // a fragment that never got a name cannot be called
		}
		calls = append(calls, chat.ToolCall{ID: st.id, Name: st.name, Arguments: finalArguments(st.args.String())})
	}
	text := a.content.String()
	var tail chat.Delta
	if a.guard && len(calls) == 0 {
		if repaired, rest, ok := toolcalls.Parse(text, a.req.Tools); ok {
			sent := strings.TrimSpace(text[:a.emitted])
			if strings.HasPrefix(rest, sent) {
				tail.Content = rest[len(sent):]
			}
			text, calls = rest, repaired
			for i, c := range calls {
				tail.ToolCalls = append(tail.ToolCalls, chat.ToolCallDelta{Index: i, ID: c.ID, Name: c.Name, Arguments: c.Arguments})
			}
			a.emitted = len(a.content.String())
		}
	}
	if a.emitted < a.content.Len() {
		tail.Content = a.content.String()[a.emitted:]
		a.emitted = a.content.Len()
	}
	if err := a.emit(tail, start); err != nil {
		return nil, err
	}
	resp := &chat.Response{
		Model:        a.model,
		Message:      chat.Message{Role: chat.Assistant, Content: text, ToolCalls: calls},
		FinishReason: finishReason(a.finishWire, len(calls) > 0),
		Usage:        a.usage.toChat(a.timings, a.seance),
		Logprobs:     a.logprobs,
	}
	resp.Usage.TimeToFirstToken = a.ttft
	return resp, nil
}
