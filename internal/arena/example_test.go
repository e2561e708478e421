package arena

import (
	"context"
	"testing"
)

// TestExampleSuite checks the shipped example suite (examples/arena/stories.jsonl, run in
// docs/ARENA.md with stories260K): it loads as seance's format, its prompts fit a 128-token context
// with room to answer, and each gold accepts a right continuation and rejects a wrong one.
func TestExampleSuite(t *testing.T) {
	const path = "../../examples/arena/stories.jsonl"
	if f := GuessFormat(path); f != FormatSeance {
		t.Fatalf("format guessed %q", f)
	}
	s, err := Open(path, "")
	if err != nil {
		t.Fatal(err)
	}
	replies := map[string][2]string{ // id: a right reply, a wrong one
		"girl-name":    {" Lily. She loved to play", " very happy. She"},
		"boy-name":     {" Tim went to the park", " and his mom went"},
		"happily-ever": {" after. The end.", " happy. They"},
		"big-red":      {" ball. He was", " car. He"},
		"felt-better":  {" very happy. Lily", " sad again."},
		"sky-colour":   {" blue and the sun", " very shiny and shiny."},
		"capital":      {" Paris.", " a big, red ball."},
		"add":          {" 4", " are many things. Every day,"},
		"sun":          {" A", " Anna, I am a little boy."},
		"say-cat":      {"cat", " Lily said cat."},
	}
	if len(s.Items) != len(replies) {
		t.Fatalf("%d items, want %d", len(s.Items), len(replies))
	}
	for _, it := range s.Items {
		// A SentencePiece tokenizer with byte fallback never makes more tokens than bytes (+1 for BOS);
		// 100 bytes leave room for a 16-token answer in stories260K's 128.
		if len(it.Prompt) > 100 {
			t.Errorf("%s: prompt of %d bytes may not fit stories260K's context", it.ID, len(it.Prompt))
		}
		r, ok := replies[it.ID]
		if !ok {
			t.Errorf("unexpected item %s", it.ID)
			continue
		}
		v, err := it.NewVerifier(nil)
		if err != nil {
			t.Fatalf("%s: %v", it.ID, err)
		}
		for i, reply := range []string{r[0], r[1], ""} {
			got, err := v.Verify(context.Background(), reply)
			if err != nil {
				t.Fatalf("%s: %v", it.ID, err)
			}
			if want := i == 0; got.Correct != want {
				t.Errorf("%s: reply %q judged correct=%v (%s)", it.ID, reply, got.Correct, got.Reason)
			}
		}
	}
}
