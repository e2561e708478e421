package toolcalls

import (
	"strings"

	"github.com/seance-dev/seance/internal/chat"
)

// SafePrefix returns how many leading bytes of text — a model's output so far, while it is still
// streaming — cannot be part of a tool call written as text. A streaming backend passes those bytes
// on at once and holds the rest until more text arrives or the output ends, when it runs Parse on the
// whole output. Holding back only what might be a call keeps ordinary replies streaming token by
// token while a text tool call never reaches the caller as prose.
//
// Output whose start could open a whole-text call ("[", "{", "<tool_call>", "get_weather(", a code
// fence) is held entirely; otherwise text is held from the first tag that introduces calls
// (<tool_call>, <function=, <|python_tag|>, [TOOL_CALLS]) or from a partial tag at the end.
// A caller never takes back bytes it passed on: it keeps the largest SafePrefix it has seen.
func SafePrefix(text string, tools []chat.ToolSpec) int {
	if len(tools) == 0 {
		return len(text)
	}
	if startMayBeCall(strings.TrimLeft(text, " \t\r\n"), tools) {
		return 0
	}
	return TagIndex(text)
}

// TagIndex returns the index of the first tag in s that introduces tool calls (<tool_call>,
// <function=, <|python_tag|>, [TOOL_CALLS]), or of a tag cut in half at the end of s, or len(s).
// Once SafePrefix(text) > 0, a streaming backend that has passed on p bytes may hold from
// p + TagIndex(text[p:]) instead of rescanning the whole text.
func TagIndex(s string) int {
	safe := len(s)
	for _, m := range markers {
		if i := strings.Index(s, m.tag); i >= 0 && i < safe {
			safe = i
		}
		for k := min(len(m.tag)-1, len(s)); k > 0; k-- {
			if strings.HasSuffix(s, m.tag[:k]) {
				safe = min(safe, len(s)-k)
				break
			}
		}
	}
	return safe
}

// startMayBeCall reports whether t, the output so far without leading space, may still turn out to be
// a tool call that makes up the whole output (or starts with a tag).
func startMayBeCall(t string, tools []chat.ToolSpec) bool {
	if t == "" {
		return true
	}
	if strings.HasPrefix(t, "```") || strings.HasPrefix("```", t) {
		nl := strings.IndexByte(t, '\n')
		if nl < 0 {
			return len(t) < 24 // still reading the fence's language tag
		}
		t = strings.TrimLeft(t[nl+1:], " \t\r\n")
		if t == "" {
			return true
		}
	}
	for _, m := range markers {
		if strings.HasPrefix(t, m.tag) || strings.HasPrefix(m.tag, t) {
			return true
		}
	}
	switch t[0] {
	case '{':
		return true
	case '[':
		u := strings.TrimLeft(t[1:], " \t\r\n")
		return u == "" || u[0] == '{' || nameMayStart(u, tools)
	}
	return nameMayStart(t, tools)
}

// nameMayStart reports whether u is, or may grow into, an offered tool name followed by "(".
func nameMayStart(u string, tools []chat.ToolSpec) bool {
	for _, tl := range tools {
		n := tl.Name
		if n == "" {
			continue
		}
		if len(u) <= len(n) {
			if strings.HasPrefix(n, u) {
				return true
			}
			continue
		}
		if !strings.HasPrefix(u, n) {
			continue
		}
		after := strings.TrimLeft(u[len(n):], " \t")
		if after == "" || after[0] == '(' || strings.HasPrefix(after, ".call") || strings.HasPrefix(".call", after) {
			return true
		}
	}
	return false
}
