package arena

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/seance-dev/seance/internal/fault"
)

// seanceRow is one line of seance's own suite format (docs/ARENA.md).
type seanceRow struct {
	ID       string `json:"id"`
	Prompt   string `json:"prompt"`
	Verifier Kind   `json:"verifier"`
	Gold     string `json:"gold"`
	// Choices lists a choice item's options (used to check the gold label and to read replies that
	// quote an option's text; the prompt is shown as written); without it the labels are A–E.
	Choices []struct {
		Label string `json:"label"`
		Text  string `json:"text"`
	} `json:"choices,omitempty"`
	// Tolerance is a numeric item's absolute tolerance.
	Tolerance float64 `json:"tolerance,omitempty"`
	// EntryPoint, Prefix and Setup complete a code item (gold holds its tests).
	EntryPoint string            `json:"entry_point,omitempty"`
	Prefix     string            `json:"prefix,omitempty"`
	Setup      string            `json:"setup,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

// ReadSeance reads seance's own suite format: JSONL, one item per line, with the fields id, prompt,
// verifier (numeric, choice, latex, code, regex, exact), gold, and optionally choices, tolerance,
// entry_point, prefix, setup and metadata. Unknown fields, duplicate ids and invalid gold answers
// are errors with the line number. See docs/ARENA.md.
func ReadSeance(r io.Reader) ([]Item, error) {
	var items []Item
	seen := map[string]int{}
	err := eachLine(r, func(n int, line []byte) error {
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var row seanceRow
		if err := dec.Decode(&row); err != nil {
			return fault.Wrap(err, fault.Invalid, "invalid suite line")
		}
		if err := need("id", row.ID); err != nil {
			return err
		}
		if err := need("prompt", row.Prompt); err != nil {
			return err
		}
		if err := need("gold", row.Gold); err != nil {
			return err
		}
		if prev, dup := seen[row.ID]; dup {
			return fault.New(fault.Invalid, "id %q already used on line %d", row.ID, prev)
		}
		seen[row.ID] = n
		it := Item{ID: row.ID, Prompt: row.Prompt, Verifier: Kind(strings.ToLower(string(row.Verifier))), Gold: row.Gold,
			Tolerance: row.Tolerance, Meta: row.Metadata}
		for _, c := range row.Choices {
			it.Options = append(it.Options, Option{Label: c.Label, Text: c.Text})
		}
		if it.Verifier == Code {
			it.Code = &CodeTask{Prefix: row.Prefix, Setup: row.Setup, Tests: row.Gold, EntryPoint: row.EntryPoint}
		}
		// Build the verifier once so that a bad gold answer is reported here, with its line (code
		// items need a runner, so only their shape is checked).
		if it.Verifier != Code {
			if _, err := it.NewVerifier(nil); err != nil {
				return err
			}
		}
		items = append(items, it)
		return nil
	})
	return items, err
}

// WriteSeance writes items in seance's own format, one JSON object per line.
func WriteSeance(w io.Writer, items []Item) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		row := seanceRow{ID: it.ID, Prompt: it.Prompt, Verifier: it.Verifier, Gold: it.Gold, Tolerance: it.Tolerance, Metadata: it.Meta}
		for _, o := range it.Options {
			row.Choices = append(row.Choices, struct {
				Label string `json:"label"`
				Text  string `json:"text"`
			}{o.Label, o.Text})
		}
		if it.Code != nil {
			row.Gold, row.EntryPoint, row.Prefix, row.Setup = it.Code.Tests, it.Code.EntryPoint, it.Code.Prefix, it.Code.Setup
		}
		if err := enc.Encode(row); err != nil {
			return fault.Wrap(err, fault.Internal, "write suite item %s", it.ID)
		}
	}
	return nil
}
