package memory

import (
	"reflect"
	"testing"
)

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello, World!", []string{"hello", "world"}},
		{"ＧＰＴ－４　ｍｏｄｅｌ", []string{"gpt", "4", "model"}},
		{"Karpathy가 말한 '유령을 소환'", []string{"karpathy", "가", "말한", "유령을", "소환"}},
		{"人工知能の研究", []string{"人工", "工知", "知能", "能の", "の研", "研究"}},
		{"猫", []string{"猫"}},
		{"café Straße", []string{"café", "straße"}},
		{"x_y=42", []string{"x", "y", "42"}},
		{"", nil},
		{"!!! ---", nil},
	}
	for _, tt := range tests {
		if got := Words(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPhraseHashes(t *testing.T) {
	text := "The quick brown fox jumps over the lazy dog"
	index := map[uint64]bool{}
	for _, h := range NGramHashes(text) {
		index[h] = true
	}
	for _, tt := range []struct {
		phrase string
		found  bool
	}{
		{"QUICK brown", true},
		{"brown fox jumps over the", true},
		{"fox", true},
		{"brown quick", false},
		{"the lazy cat", false},
	} {
		words, hashes := PhraseHashes(tt.phrase)
		all := len(hashes) > 0
		for _, h := range hashes {
			all = all && index[h]
		}
		if all != tt.found {
			t.Errorf("phrase %q: all n-grams indexed = %v, want %v", tt.phrase, all, tt.found)
		}
		if tt.found && CountPhrase(Words(text), words) != 1 {
			t.Errorf("phrase %q: CountPhrase = %d, want 1", tt.phrase, CountPhrase(Words(text), words))
		}
	}
	if w, h := PhraseHashes("  ...  "); w != nil || h != nil {
		t.Errorf("empty phrase gave %q %v", w, h)
	}
}

func TestTerms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"The effect of Vitamin-D in mice", []string{"effect", "vitamin", "d", "mice"}},
		{"통제를 잃고", []string{"통제를", "통제", "잃고"}},
		{"인공지능의 미래", []string{"인공지능의", "인공지능", "미래"}},
		{"아이", []string{"아이"}},
		{"책을", []string{"책을"}},
		{"知能", []string{"知能"}},
	}
	for _, tt := range tests {
		if got := Terms(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Terms(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := QueryTerms("model model 모델이 모델"); !reflect.DeepEqual(got, []string{"model", "모델이", "모델"}) {
		t.Errorf("QueryTerms = %q", got)
	}
}

func TestSpreadHashes(t *testing.T) {
	short := []uint64{1, 2, 3}
	if got := SpreadHashes(short); len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Errorf("short: %v", got)
	}
	long := make([]uint64, 100)
	for i := range long {
		long[i] = uint64(i)
	}
	got := SpreadHashes(long)
	if len(got) != MaxLookupHashes || got[0] != 0 || got[len(got)-1] != 99 {
		t.Fatalf("long: %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] || got[i]-got[i-1] > 4 {
			t.Fatalf("not spread evenly: %v", got)
		}
	}
}
