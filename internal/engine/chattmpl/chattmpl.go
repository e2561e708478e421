// Package chattmpl renders a model's own chat template — the Jinja2 text of
// tokenizer.chat_template in Hugging Face tokenizer configs and GGUF metadata — into a prompt.
//
// It holds a small Jinja interpreter (lexer → parser → tree → evaluator) covering what real chat
// templates use, configured as Hugging Face configures Jinja: trim_blocks and lstrip_blocks on,
// autoescape off, lists and dicts immutable except for namespace() attributes, and the extra
// globals raise_exception and strftime_now. Values follow Python: tojson is
// json.dumps(ensure_ascii=False) with ", " and ": " separators, None prints as "None", and an
// undefined variable or attribute is Undefined (falsy, renders empty).
//
// Parsing and rendering are bounded: template size and nesting depth, output size, loop
// iterations, macro nesting and the bytes processed by string and list operations all have
// limits, so a hostile template returns an error instead of hanging or exhausting memory. It is imported by internal/engine and imports chat
// and fault.
package chattmpl

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
)

// Template is a parsed chat template. It is immutable and safe for concurrent use.
type Template struct {
	source string
	nodes  []node
}

// Input is what a template renders: the conversation and the variables Hugging Face passes.
type Input struct {
	Messages            []chat.Message
	Tools               []chat.ToolSpec
	AddGenerationPrompt bool
	BOSToken, EOSToken  string
	// Extra holds further template variables, such as enable_thinking or date_string. Values are
	// Go values: nil, bool, ints, floats, string, []any, map[string]any, or json.RawMessage.
	Extra map[string]any
	// Now is the time strftime_now formats; the zero value means time.Now().
	Now time.Time
}

// Parse parses a template. Syntax errors are *fault.Error values with code Unprocessable whose
// cause is a *SyntaxError holding the line and column.
func Parse(source string) (*Template, error) {
	if len(source) > maxSource {
		return nil, fault.New(fault.Unprocessable, "chat template is larger than %d bytes", maxSource)
	}
	toks, err := tokenize(source)
	if err == nil {
		p := &parser{toks: toks}
		var nodes []node
		nodes, _, err = p.parseBody()
		if err == nil {
			return &Template{source: source, nodes: nodes}, nil
		}
	}
	return nil, fault.Wrap(err, fault.Unprocessable, "chat template does not parse")
}

// Source returns the template text.
func (t *Template) Source() string { return t.source }

// Render renders the template for in. A raise_exception in the template (for example "roles must
// alternate") is a fault.Invalid error whose cause is an *ExceptionError: the conversation does
// not fit the model. Other failures — type errors in the template, exceeded limits — are
// fault.Unprocessable errors whose cause is a *RenderError with the position.
func (t *Template) Render(in Input) (string, error) {
	globals, err := in.globals()
	if err != nil {
		return "", fault.Wrap(err, fault.Invalid, "chat template input")
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	var out strings.Builder
	st := &state{scopes: []map[string]any{globals}, out: &out, now: now}
	err = st.renderNodes(t.nodes)
	switch {
	case err == nil:
		return out.String(), nil
	case errors.Is(err, errBreak), errors.Is(err, errContinue):
		return "", fault.Wrap(err, fault.Unprocessable, "chat template failed")
	}
	var ee *ExceptionError
	if errors.As(err, &ee) {
		return "", fault.Wrap(err, fault.Invalid, "the model's chat template rejected the conversation: %s", ee.Msg)
	}
	return "", fault.Wrap(err, fault.Unprocessable, "chat template failed")
}

// globals builds the variables Hugging Face's apply_chat_template passes.
func (in Input) globals() (map[string]any, error) {
	g := map[string]any{
		"bos_token":             in.BOSToken,
		"eos_token":             in.EOSToken,
		"add_generation_prompt": in.AddGenerationPrompt,
		"tools":                 nil,
		"documents":             nil,
	}
	msgs := make([]any, len(in.Messages))
	for i, m := range in.Messages {
		d, err := messageDict(m)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		msgs[i] = d
	}
	g["messages"] = msgs
	if len(in.Tools) > 0 {
		tools := make([]any, len(in.Tools))
		for i, t := range in.Tools {
			d, err := toolDict(t)
			if err != nil {
				return nil, fmt.Errorf("tool %q: %w", t.Name, err)
			}
			tools[i] = d
		}
		g["tools"] = tools
	}
	for k, v := range in.Extra {
		cv, err := fromGo(v, 0)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", k, err)
		}
		g[k] = cv
	}
	return g, nil
}

// messageDict converts a message to the dict shape Hugging Face templates expect. Optional keys
// (name, tool_calls, tool_call_id) are present only when set, because templates test for them
// with "is defined" and "'tool_calls' in message".
func messageDict(m chat.Message) (*dictVal, error) {
	d := newDict()
	d.Set("role", string(m.Role))
	d.Set("content", m.Content)
	if m.Name != "" {
		d.Set("name", m.Name)
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]any, len(m.ToolCalls))
		for i, c := range m.ToolCalls {
			fn := newDict()
			fn.Set("name", c.Name)
			var args any = c.Arguments
			if strings.TrimSpace(c.Arguments) != "" {
				if parsed, err := parseJSON([]byte(c.Arguments)); err == nil {
					args = parsed
				}
			} else {
				args = newDict()
			}
			fn.Set("arguments", args)
			call := newDict()
			call.Set("id", c.ID)
			call.Set("type", "function")
			call.Set("function", fn)
			calls[i] = call
		}
		d.Set("tool_calls", calls)
	}
	if m.ToolCallID != "" {
		d.Set("tool_call_id", m.ToolCallID)
	}
	return d, nil
}

// toolDict converts a tool to {"type": "function", "function": {"name", "description", "parameters"}}.
func toolDict(t chat.ToolSpec) (*dictVal, error) {
	fn := newDict()
	fn.Set("name", t.Name)
	fn.Set("description", t.Description)
	if len(t.Parameters) > 0 && strings.TrimSpace(string(t.Parameters)) != "null" {
		params, err := parseJSON(t.Parameters)
		if err != nil {
			return nil, fmt.Errorf("parameters are not valid JSON: %w", err)
		}
		fn.Set("parameters", params)
	} else {
		empty := newDict()
		empty.Set("type", "object")
		empty.Set("properties", newDict())
		fn.Set("parameters", empty)
	}
	d := newDict()
	d.Set("type", "function")
	d.Set("function", fn)
	return d, nil
}

// chatML is the ChatML template (as used by Qwen and SmolLM without their default system prompts).
const chatML = `{%- for message in messages %}
{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
{{- '<|im_start|>assistant\n' }}
{%- endif %}`

var chatMLTemplate = func() *Template {
	t, err := Parse(chatML)
	if err != nil {
		panic("chattmpl: built-in ChatML template does not parse: " + err.Error())
	}
	return t
}()

// ChatML returns the ChatML template, the fallback for models whose GGUF has no chat template.
func ChatML() *Template { return chatMLTemplate }
