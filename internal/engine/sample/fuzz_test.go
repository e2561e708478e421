package sample

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzSample feeds arbitrary logits, history and parameters: Sample must not panic, must return a
// token inside the vocabulary and finite log-probabilities.
func FuzzSample(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 64}, []byte{1, 0}, uint8(3), 0.7, 0.9, 0.05)
	f.Fuzz(func(t *testing.T, raw []byte, hist []byte, k uint8, temp, topP, minP float64) {
		logits := make([]float32, len(raw)/4)
		for i := range logits {
			logits[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		history := make([]int, len(hist))
		for i, h := range hist {
			history[i] = int(h) - 8 // some out of range on purpose
		}
		s, err := New(Params{Temperature: temp, TopK: int(k), TopP: topP, MinP: minP, RepeatPenalty: 1.3,
			PresencePenalty: 0.5, FrequencyPenalty: 0.5, TopLogprobs: 5})
		if err != nil {
			return
		}
		res := s.Sample(logits, history)
		if len(logits) == 0 {
			if res.Token != -1 {
				t.Fatalf("empty logits gave token %d", res.Token)
			}
			return
		}
		if res.Token < 0 || res.Token >= len(logits) {
			t.Fatalf("token %d outside vocabulary of %d", res.Token, len(logits))
		}
		if math.IsNaN(res.Logprob) || math.IsInf(res.Logprob, 0) {
			t.Fatalf("logprob %v", res.Logprob)
		}
	})
}
