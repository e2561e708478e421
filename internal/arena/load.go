package arena

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/seance-dev/seance/internal/fault"
)

// Format names a suite file format.
type Format string

// The formats Open reads.
const (
	FormatSeance     Format = "seance"     // seance's own JSONL (docs/ARENA.md)
	FormatGSM8K      Format = "gsm8k"      // {"question","answer"} with "#### gold"
	FormatSVAMP      Format = "svamp"      // {"Body","Question","Answer","ID",...}
	FormatMATH       Format = "math"       // {"problem","answer","unique_id",...}
	FormatARC        Format = "arc"        // {"id","question":{"stem","choices"},"answerKey"}
	FormatMMLU       Format = "mmlu"       // {"question","choices":[...],"answer":index or letter,"subject"}
	FormatTruthfulQA Format = "truthfulqa" // CSV: best answer versus incorrect answers
	FormatHumanEval  Format = "humaneval"  // {"task_id","prompt","canonical_solution","test","entry_point"}
	FormatMBPP       Format = "mbpp"       // {"task_id","text","code","test_list","test_setup_code"}
)

// readers maps each format to its reader.
var readers = map[Format]func(io.Reader) ([]Item, error){
	FormatSeance:     ReadSeance,
	FormatGSM8K:      ReadGSM8K,
	FormatSVAMP:      ReadSVAMP,
	FormatMATH:       ReadMATH,
	FormatARC:        ReadARC,
	FormatMMLU:       ReadMMLU,
	FormatTruthfulQA: ReadTruthfulQA,
	FormatHumanEval:  ReadHumanEval,
	FormatMBPP:       ReadMBPP,
}

// Open reads the suite file at path in format (which, when empty, is guessed from the path: a
// folder or file name containing a format's name, else seance's own). The suite is named after the
// format and the file name.
func Open(path string, format Format) (*Suite, error) {
	if format == "" {
		format = GuessFormat(path)
	}
	read, ok := readers[format]
	if !ok {
		return nil, fault.New(fault.Invalid, "unknown suite format %q", format)
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fault.Wrap(err, fault.NotFound, "suite file %s not found", path)
		}
		return nil, fmt.Errorf("open suite: %w", err)
	}
	defer f.Close()
	items, err := read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if format != FormatSeance {
		name = string(format) + "/" + name
	}
	return &Suite{Name: name, Items: items}, nil
}

// GuessFormat guesses a suite file's format from its path: the file's name and its folder's (not the
// whole path, so that a suite under /home/mathilde/research/ is neither MATH nor ARC). "arc" must be
// a word of its own ("ARC-Challenge"); the other names may sit inside one ("math500"). Anything
// else is seance's own format.
func GuessFormat(path string) Format {
	parts := strings.Split(strings.TrimRight(strings.ToLower(filepath.ToSlash(path)), "/"), "/")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	tail := strings.Join(parts, "/")
	words := strings.FieldsFunc(tail, func(r rune) bool { return !('a' <= r && r <= 'z' || '0' <= r && r <= '9') })
	for _, f := range []Format{FormatGSM8K, FormatSVAMP, FormatHumanEval, FormatMBPP, FormatTruthfulQA, FormatARC, FormatMMLU, FormatMATH} {
		if f == FormatARC {
			if slices.Contains(words, string(f)) {
				return f
			}
			continue
		}
		if strings.Contains(tail, string(f)) {
			return f
		}
	}
	return FormatSeance
}

// eachLine calls fn with every non-blank line of a JSONL stream and its 1-based number, and
// prefixes fn's errors with the line number.
func eachLine(r io.Reader, fn func(n int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := fn(n, line); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fault.Wrap(err, fault.Invalid, "line %d: unreadable", n+1)
	}
	return nil
}

func decode(line []byte, v any) error {
	if err := json.Unmarshal(line, v); err != nil {
		return fault.Wrap(err, fault.Invalid, "invalid JSON")
	}
	return nil
}

func need(field, value string) error {
	if strings.TrimSpace(value) == "" {
		return fault.New(fault.Invalid, "missing %q", field)
	}
	return nil
}

// ReadGSM8K reads GSM8K JSONL. The gold number is what follows the last "####" of the answer
// (thousands separators removed); items are named gsm8k/N by line.
func ReadGSM8K(r io.Reader) ([]Item, error) {
	var items []Item
	err := eachLine(r, func(n int, line []byte) error {
		var row struct{ Question, Answer string }
		if err := decode(line, &row); err != nil {
			return err
		}
		i := strings.LastIndex(row.Answer, "####")
		if i < 0 {
			return fault.New(fault.Invalid, "answer has no #### gold")
		}
		gold := strings.ReplaceAll(strings.TrimSpace(row.Answer[i+4:]), ",", "")
		if _, err := strconv.ParseFloat(gold, 64); err != nil {
			return fault.New(fault.Invalid, "gold %q is not a number", gold)
		}
		if err := need("question", row.Question); err != nil {
			return err
		}
		items = append(items, Item{ID: "gsm8k/" + strconv.Itoa(n), Prompt: row.Question, Verifier: Numeric, Gold: gold,
			Meta: map[string]string{"solution": strings.TrimSpace(row.Answer[:i])}})
		return nil
	})
	return items, err
}

// ReadSVAMP reads SVAMP JSONL: the prompt is Body + " " + Question, the gold the numeric Answer.
func ReadSVAMP(r io.Reader) ([]Item, error) {
	var items []Item
	err := eachLine(r, func(n int, line []byte) error {
		var row struct {
			Body, Question, Equation, Type, ID string
			Answer                             *float64
		}
		if err := decode(line, &row); err != nil {
			return err
		}
		if row.Answer == nil {
			return fault.New(fault.Invalid, "missing \"Answer\"")
		}
		if err := need("Question", row.Question); err != nil {
			return err
		}
		id := row.ID
		if id == "" {
			id = strconv.Itoa(n)
		}
		items = append(items, Item{ID: "svamp/" + id, Prompt: strings.TrimSpace(row.Body + " " + row.Question), Verifier: Numeric,
			Gold: strconv.FormatFloat(*row.Answer, 'f', -1, 64), Meta: map[string]string{"type": row.Type, "equation": row.Equation}})
		return nil
	})
	return items, err
}

// ReadMATH reads MATH (MATH-500) JSONL; the gold is the LaTeX "answer" field.
func ReadMATH(r io.Reader) ([]Item, error) {
	var items []Item
	err := eachLine(r, func(n int, line []byte) error {
		var row struct {
			Problem, Solution, Answer, Subject string
			Level                              json.RawMessage
			UniqueID                           string `json:"unique_id"`
		}
		if err := decode(line, &row); err != nil {
			return err
		}
		if err := need("problem", row.Problem); err != nil {
			return err
		}
		if err := need("answer", row.Answer); err != nil {
			return err
		}
		id := row.UniqueID
		if id == "" {
			id = strconv.Itoa(n)
		}
		items = append(items, Item{ID: "math/" + strings.TrimSuffix(id, ".json"), Prompt: row.Problem, Verifier: LaTeX, Gold: row.Answer,
			Meta: map[string]string{"subject": row.Subject, "level": strings.Trim(string(row.Level), `"`), "solution": row.Solution}})
		return nil
	})
	return items, err
}

// ReadARC reads ARC JSONL (labels A–E or 1–5); the prompt lists the options as "A. text".
func ReadARC(r io.Reader) ([]Item, error) {
	var items []Item
	err := eachLine(r, func(n int, line []byte) error {
		var row struct {
			ID       string
			Question struct {
				Stem    string
				Choices []struct{ Label, Text string }
			}
			AnswerKey string
		}
		if err := decode(line, &row); err != nil {
			return err
		}
		if err := need("question.stem", row.Question.Stem); err != nil {
			return err
		}
		var opts []Option
		found := false
		for _, c := range row.Question.Choices {
			opts = append(opts, Option{Label: c.Label, Text: c.Text})
			found = found || c.Label == row.AnswerKey
		}
		if !found {
			return fault.New(fault.Invalid, "answerKey %q is not among the choices", row.AnswerKey)
		}
		id := row.ID
		if id == "" {
			id = strconv.Itoa(n)
		}
		items = append(items, choiceItem("arc/"+id, row.Question.Stem, opts, row.AnswerKey))
		return nil
	})
	return items, err
}

// ReadMMLU reads MMLU-style JSONL (as the Hugging Face dataset exports it): the options are a list
// labelled A, B, C, … in order, and the answer is an index or a label.
func ReadMMLU(r io.Reader) ([]Item, error) {
	var items []Item
	err := eachLine(r, func(n int, line []byte) error {
		var row struct {
			Question string          `json:"question"`
			Subject  string          `json:"subject"`
			Choices  []string        `json:"choices"`
			Answer   json.RawMessage `json:"answer"`
		}
		if err := decode(line, &row); err != nil {
			return err
		}
		if err := need("question", row.Question); err != nil {
			return err
		}
		if len(row.Choices) < 2 || len(row.Choices) > 26 {
			return fault.New(fault.Invalid, "%d choices; want 2 to 26", len(row.Choices))
		}
		opts := make([]Option, len(row.Choices))
		for i, c := range row.Choices {
			opts[i] = Option{Label: string(rune('A' + i)), Text: c}
		}
		var gold string
		var idx int
		var letter string
		switch {
		case json.Unmarshal(row.Answer, &idx) == nil && idx >= 0 && idx < len(opts):
			gold = opts[idx].Label
		case json.Unmarshal(row.Answer, &letter) == nil && len(letter) == 1 && letter[0] >= 'A' && int(letter[0]-'A') < len(opts):
			gold = letter
		default:
			return fault.New(fault.Invalid, "answer %s is not an option index or label", row.Answer)
		}
		it := choiceItem("mmlu/"+strconv.Itoa(n), row.Question, opts, gold)
		it.Meta = map[string]string{"subject": row.Subject}
		items = append(items, it)
		return nil
	})
	return items, err
}

// choiceItem builds a multiple-choice item whose prompt lists the options.
func choiceItem(id, question string, opts []Option, gold string) Item {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(question))
	b.WriteString("\n")
	for _, o := range opts {
		fmt.Fprintf(&b, "\n%s. %s", o.Label, o.Text)
	}
	return Item{ID: id, Prompt: b.String(), Verifier: Choice, Gold: gold, Options: opts}
}

// TruthfulQAChoices is the largest number of options of a TruthfulQA item: the best answer and up
// to four incorrect ones (labels A–E, as in ARC).
const TruthfulQAChoices = 5

// ReadTruthfulQA reads the TruthfulQA CSV as multiple choice: the best answer against the incorrect
// answers ("; "-separated). Both the choice of incorrect answers (when there are more than four) and
// the order of the options are a shuffle seeded by the item's id (truthfulqa/ROW), so every load
// gives the same item.
func ReadTruthfulQA(r io.Reader) ([]Item, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "unreadable CSV header")
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, h := range []string{"Question", "Best Answer", "Incorrect Answers"} {
		if _, ok := col[h]; !ok {
			return nil, fault.New(fault.Invalid, "CSV has no %q column", h)
		}
	}
	var items []Item
	for row := 1; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fault.Wrap(err, fault.Invalid, "row %d: unreadable", row)
		}
		get := func(h string) string {
			if i, ok := col[h]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		best := get("Best Answer")
		var wrong []string
		for _, w := range strings.Split(get("Incorrect Answers"), ";") {
			if w = strings.TrimSpace(w); w != "" && w != best {
				wrong = append(wrong, w)
			}
		}
		if get("Question") == "" || best == "" || len(wrong) == 0 {
			return nil, fault.New(fault.Invalid, "row %d: needs a question, a best answer and an incorrect answer", row)
		}
		id := "truthfulqa/" + strconv.Itoa(row)
		rng := seeded(id)
		rng.Shuffle(len(wrong), func(i, j int) { wrong[i], wrong[j] = wrong[j], wrong[i] })
		if len(wrong) > TruthfulQAChoices-1 {
			wrong = wrong[:TruthfulQAChoices-1]
		}
		texts := append([]string{best}, wrong...)
		rng.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
		opts := make([]Option, len(texts))
		gold := ""
		for i, t := range texts {
			opts[i] = Option{Label: string(rune('A' + i)), Text: t}
			if t == best {
				gold = opts[i].Label
			}
		}
		it := choiceItem(id, get("Question"), opts, gold)
		it.Meta = map[string]string{"category": get("Category"), "type": get("Type")}
		items = append(items, it)
	}
	return items, nil
}

// seeded returns a random source seeded by a hash of id.
func seeded(id string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(id))
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

// ReadHumanEval reads HumanEval JSONL as code items: the prompt (signature and docstring) is both
// what the contestant sees and the prefix its body completes; the tests end with check(entry_point).
func ReadHumanEval(r io.Reader) ([]Item, error) {
	var items []Item
	err := eachLine(r, func(n int, line []byte) error {
		var row struct {
			TaskID            string `json:"task_id"`
			Prompt            string `json:"prompt"`
			CanonicalSolution string `json:"canonical_solution"`
			Test              string `json:"test"`
			EntryPoint        string `json:"entry_point"`
		}
		if err := decode(line, &row); err != nil {
			return err
		}
		for _, f := range [][2]string{{"task_id", row.TaskID}, {"prompt", row.Prompt}, {"test", row.Test}, {"entry_point", row.EntryPoint}} {
			if err := need(f[0], f[1]); err != nil {
				return err
			}
		}
		items = append(items, Item{ID: row.TaskID, Prompt: row.Prompt, Verifier: Code, Gold: row.Test, Code: &CodeTask{
			Prefix: row.Prompt, Tests: row.Test, EntryPoint: row.EntryPoint, Solution: row.CanonicalSolution,
		}})
		return nil
	})
	return items, err
}

// ReadMBPP reads MBPP JSONL as code items. The prompt is the task text followed by its tests (the
// benchmark's usual prompt, which is how the contestant learns the function's name and signature).
func ReadMBPP(r io.Reader) ([]Item, error) {
	var items []Item
	err := eachLine(r, func(n int, line []byte) error {
		var row struct {
			TaskID        int      `json:"task_id"`
			Text          string   `json:"text"`
			Code          string   `json:"code"`
			TestList      []string `json:"test_list"`
			TestSetupCode string   `json:"test_setup_code"`
		}
		if err := decode(line, &row); err != nil {
			return err
		}
		if err := need("text", row.Text); err != nil {
			return err
		}
		if len(row.TestList) == 0 {
			return fault.New(fault.Invalid, "missing \"test_list\"")
		}
		tests := strings.Join(row.TestList, "\n") + "\n"
		prompt := row.Text + "\nYour code should pass these tests:\n\n" + tests
		items = append(items, Item{ID: "mbpp/" + strconv.Itoa(row.TaskID), Prompt: prompt, Verifier: Code, Gold: tests, Code: &CodeTask{
			Setup: strings.ReplaceAll(row.TestSetupCode, "\r\n", "\n"), Tests: tests, Solution: strings.ReplaceAll(row.Code, "\r\n", "\n"),
		}})
		return nil
	})
	return items, err
}
