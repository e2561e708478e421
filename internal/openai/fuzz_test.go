package openai

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/seance-dev/seance/internal/fault"
)

func FuzzDecodeChatRequest(f *testing.F) {
	for _, seed := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"stop":["x"],"n":2,"temperature":1}`,
		`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"1"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"f"}}}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{}}},"logprobs":true,"top_logprobs":3,"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`,
		`{"model":1}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeChatRequest(bytes.NewReader(body), 1<<16)
		if err != nil {
			switch fault.CodeOf(err) {
			case fault.Invalid, fault.Unsupported, fault.TooLarge:
			default:
				t.Fatalf("error %v has code %q", err, fault.CodeOf(err))
			}
			if fault.Message(err) == "" {
				t.Fatalf("error %v has no message", err)
			}
			return
		}
		creq, n, _, _, err := ToChat(req)
		if err != nil {
			t.Fatalf("a decoded request fails ToChat: %v", err)
		}
		if n < 1 || n > MaxN || len(creq.Messages) != len(req.Messages) {
			t.Fatalf("n = %d, messages %d of %d", n, len(creq.Messages), len(req.Messages))
		}
		// What decodes must survive a round trip through its own encoding.
		out, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("marshal decoded request: %v", err)
		}
		if _, err := DecodeChatRequest(bytes.NewReader(out), 0); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
	})
}

func FuzzDecodeEmbeddingRequest(f *testing.F) {
	for _, seed := range []string{
		`{"model":"e","input":"hello"}`,
		`{"model":"e","input":["a","b"],"encoding_format":"base64"}`,
		`{"model":"e","input":[1,2]}`, `{"model":"e","input":[[1],[2]]}`, `{"input":5}`, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeEmbeddingRequest(bytes.NewReader(body), 1<<16)
		if err != nil {
			switch fault.CodeOf(err) {
			case fault.Invalid, fault.Unsupported, fault.TooLarge:
			default:
				t.Fatalf("error %v has code %q", err, fault.CodeOf(err))
			}
			return
		}
		if len(req.Input) == 0 || req.Model == "" {
			t.Fatalf("accepted an empty request: %+v", req)
		}
	})
}
