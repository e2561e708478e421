package arena

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/fault"
)

const sampleSuite = `{"id":"add","prompt":"What is 2+2?","verifier":"numeric","gold":"4"}
{"id":"pi","prompt":"Pi to two decimals?","verifier":"numeric","gold":"3.14","tolerance":0.005}

{"id":"capital","prompt":"Capital of France?\nA. Lyon\nB. Paris","verifier":"choice","gold":"B","choices":[{"label":"A","text":"Lyon"},{"label":"B","text":"Paris"}],"metadata":{"topic":"geography"}}
{"id":"half","prompt":"Half of 1?","verifier":"latex","gold":"\\frac{1}{2}"}
{"id":"hello","prompt":"Greet.","verifier":"regex","gold":"(?i)\\bhello\\b"}
{"id":"colour","prompt":"Sky colour?","verifier":"exact","gold":"blue"}
{"id":"sq","prompt":"Write sq(x).","verifier":"code","gold":"assert sq(3) == 9","entry_point":""}
`

func TestReadSeance(t *testing.T) {
	items, err := ReadSeance(strings.NewReader(sampleSuite))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 7 {
		t.Fatalf("%d items, want 7", len(items))
	}
	ctx := context.Background()
	replies := map[string][2]string{ // id → a correct and a wrong reply
		"add":     {"The answer is 4.", "The answer is 5."},
		"pi":      {"About 3.141", "3.2"},
		"capital": {"Answer: B", "Answer: A"},
		"half":    {`$\boxed{\dfrac12}$`, `$\boxed{\frac13}$`},
		"hello":   {"Hello there!", "Goodbye."},
		"colour":  {"blue", "green"},
	}
	for _, it := range items {
		if it.Verifier == Code {
			if it.Code == nil || it.Code.Tests != "assert sq(3) == 9" {
				t.Errorf("code item %+v", it)
			}
			continue
		}
		v, err := it.NewVerifier(nil)
		if err != nil {
			t.Fatalf("%s: %v", it.ID, err)
		}
		r := replies[it.ID]
		if got, _ := v.Verify(ctx, r[0]); !got.Correct {
			t.Errorf("%s: %q judged wrong: %+v", it.ID, r[0], got)
		}
		if got, _ := v.Verify(ctx, r[1]); got.Correct {
			t.Errorf("%s: %q judged correct", it.ID, r[1])
		}
	}
	if items[2].Meta["topic"] != "geography" {
		t.Errorf("metadata lost: %+v", items[2].Meta)
	}

	var buf bytes.Buffer
	if err := WriteSeance(&buf, items); err != nil {
		t.Fatal(err)
	}
	again, err := ReadSeance(&buf)
	if err != nil {
		t.Fatalf("reading back what WriteSeance wrote: %v", err)
	}
	for i := range items {
		if again[i].ID != items[i].ID || again[i].Prompt != items[i].Prompt || again[i].Gold != items[i].Gold || len(again[i].Options) != len(items[i].Options) {
			t.Errorf("round trip changed item %d: %+v vs %+v", i, again[i], items[i])
		}
	}
}

func TestReadSeanceErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown field", `{"id":"a","prompt":"p","verifier":"exact","gold":"g","answer":"x"}`, "line 1"},
		{"missing gold", `{"id":"a","prompt":"p","verifier":"exact"}`, `missing "gold"`},
		{"duplicate id", "{\"id\":\"a\",\"prompt\":\"p\",\"verifier\":\"exact\",\"gold\":\"g\"}\n{\"id\":\"a\",\"prompt\":\"p\",\"verifier\":\"exact\",\"gold\":\"g\"}", "line 2: id \"a\" already used on line 1"},
		{"bad number", `{"id":"a","prompt":"p","verifier":"numeric","gold":"many"}`, "not one number"},
		{"bad label", `{"id":"a","prompt":"p","verifier":"choice","gold":"C","choices":[{"label":"A","text":"x"},{"label":"B","text":"y"}]}`, "not one of"},
		{"bad regex", `{"id":"a","prompt":"p","verifier":"regex","gold":"("}`, "invalid regular expression"},
		{"unknown verifier", `{"id":"a","prompt":"p","verifier":"vibes","gold":"g"}`, "unknown verifier"},
		{"not JSON", `{"id":`, "line 1"},
	}
	for _, tt := range tests {
		_, err := ReadSeance(strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || fault.CodeOf(err) != fault.Invalid {
			t.Errorf("%s: error %v (code %s), want one containing %q, invalid", tt.name, err, fault.CodeOf(err), tt.want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.jsonl"), ""); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("missing file: %v", err)
	}
	p := filepath.Join(dir, "suite.jsonl")
	if err := os.WriteFile(p, []byte(sampleSuite), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(p, "parquet"); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("unknown format: %v", err)
	}
	s, err := Open(p, "")
	if err != nil || s.Name != "suite" || len(s.Items) != 7 {
		t.Errorf("Open = %+v, %v", s, err)
	}
	bad := filepath.Join(dir, "gsm8k.jsonl")
	if err := os.WriteFile(bad, []byte(`{"question":"q","answer":"no gold"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bad, ""); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("GSM8K without ####: %v", err)
	}
}

func TestGuessFormat(t *testing.T) {
	for path, want := range map[string]Format{
		"../shared/evals/gsm8k/dev.jsonl":     FormatGSM8K,
		"evals/math500/dev.jsonl":             FormatMATH,
		"arc/ARC-Challenge-Dev.jsonl":         FormatARC,
		"truthfulqa/dev.csv":                  FormatTruthfulQA,
		"HumanEval.jsonl":                     FormatHumanEval,
		"mbpp/train-validation-prompt.jsonl":  FormatMBPP,
		"my-tasks.jsonl":                      FormatSeance,
		"/home/mathilde/research/tasks.jsonl": FormatSeance, // only the file and its folder count
		"/data/research/suite.jsonl":          FormatSeance, // "arc" inside a word is not ARC
		"/data/arc-easy/test.jsonl":           FormatARC,
		"/srv/evals/gsm8k/":                   FormatGSM8K, // a folder
		"../../examples/arena/stories.jsonl":  FormatSeance,
	} {
		if got := GuessFormat(path); got != want {
			t.Errorf("GuessFormat(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestReadMMLU(t *testing.T) {
	in := `{"question":"2+2?","subject":"math","choices":["3","4","5","6"],"answer":1}
{"question":"Sky?","choices":["green","blue"],"answer":"B"}`
	items, err := ReadMMLU(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Gold != "B" || items[1].Gold != "B" || !strings.Contains(items[0].Prompt, "B. 4") || items[0].Meta["subject"] != "math" {
		t.Errorf("items %+v", items)
	}
	for _, bad := range []string{`{"question":"q","choices":["a","b"],"answer":2}`, `{"question":"q","choices":["a","b"],"answer":"C"}`, `{"question":"q","choices":["a"],"answer":0}`} {
		if _, err := ReadMMLU(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadMMLU accepted %s", bad)
		}
	}
}

func FuzzReadSeance(f *testing.F) {
	for _, line := range strings.Split(sampleSuite, "\n") {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, err := ReadSeance(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, it := range items {
			if it.Verifier != Code {
				if _, err := it.NewVerifier(nil); err != nil {
					t.Fatalf("ReadSeance accepted an item whose verifier fails: %v", err)
				}
			}
		}
	})
}
