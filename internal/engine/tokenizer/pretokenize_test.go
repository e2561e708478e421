package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// The expected splits below are derived by hand from each pattern: at every position the first
// alternative that matches wins, with the regex's backtracking for \s+(?!\S).
func TestPreTokenizers(t *testing.T) {
	type tc struct {
		in   string
		want []string
	}
	tables := map[string][]tc{
		"gpt2": {
			{"Hello world", []string{"Hello", " world"}},
			{"I'm don't they're we've I'll he'd she's", []string{"I", "'m", " don", "'t", " they", "'re", " we", "'ve", " I", "'ll", " he", "'d", " she", "'s"}},
			{"I'M", []string{"I", "'", "M"}}, // contractions are case-sensitive here
			{"'sup", []string{"'s", "up"}},
			{"12345 abc", []string{"12345", " abc"}},
			{" 123", []string{" 123"}},
			{"3.14", []string{"3", ".", "14"}},
			{"a  b", []string{"a", " ", " b"}},
			{"a   ", []string{"a", "   "}},
			{"hi\n\nthere", []string{"hi", "\n", "\n", "there"}},
			{"x\t\ty", []string{"x", "\t", "\t", "y"}},
			{"Hello!!! ...", []string{"Hello", "!!!", " ..."}},
			{"안녕하세요 세계", []string{"안녕하세요", " 세계"}},
			{"2024년 3월", []string{"2024", "년", " 3", "월"}},
			{"中文字符", []string{"中文字符"}},
			{"hi 👋🏽!", []string{"hi", " 👋🏽!"}},
			{"a\xffb", []string{"a", "\xff", "b"}},
			{"  ", []string{"  "}},
			{"", nil},
		},
		"llama3": {
			{"Hello world", []string{"Hello", " world"}},
			{"I'M here", []string{"I", "'M", " here"}}, // case-insensitive contractions
			{"don't", []string{"don", "'t"}},
			{"'hello", []string{"'hello"}}, // [^\r\n\p{L}\p{N}]?\p{L}+
			{"\tfoo", []string{"\tfoo"}},
			{"12345", []string{"123", "45"}},
			{"1234567", []string{"123", "456", "7"}},
			{" 123", []string{" ", "123"}},
			{"$100", []string{"$", "100"}},
			{"a  b", []string{"a", " ", " b"}},
			{"hello   ", []string{"hello", "   "}},
			{"hi\n\nthere", []string{"hi", "\n\n", "there"}},
			{"x  \n  y", []string{"x", "  \n", " ", " y"}},
			{"a\r\nb", []string{"a", "\r\n", "b"}},
			{"Hello!!!\n\nWorld", []string{"Hello", "!!!\n\n", "World"}},
			{" ...", []string{" ..."}},
			{"안녕하세요, 세계!", []string{"안녕하세요", ",", " 세계", "!"}},
			{"hi 👋🏽!", []string{"hi", " 👋🏽!"}},
			{"2024년", []string{"202", "4", "년"}},
			{"\n", []string{"\n"}},
		},
		"qwen2": {
			{"12345", []string{"1", "2", "3", "4", "5"}},
			{" 2024년", []string{" ", "2", "0", "2", "4", "년"}},
			{"I'M ok", []string{"I", "'M", " ok"}},
			{"hi\n\nthere  ", []string{"hi", "\n\n", "there", "  "}},
			{"你好，世界", []string{"你好", "，世界"}},
			{"a.b", []string{"a", ".b"}},
		},
		"smollm": {
			{"abc 123 def", []string{"abc", " ", "1", "2", "3", " def"}},
			{"x1y", []string{"x", "1", "y"}},
			{"I'm 2", []string{"I", "'m", " ", "2"}},
			{"Hello world!", []string{"Hello", " world", "!"}},
			{"v2.0", []string{"v", "2", ".", "0"}},
		},
	}
	for pre, cases := range tables {
		p, ok := preTokenizers[pre]
		if !ok {
			t.Fatalf("no pre-tokenizer %q", pre)
		}
		for _, c := range cases {
			got := p.split(c.in, nil)
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: split(%q) = %q, want %q", pre, c.in, got, c.want)
			}
		}
	}
}

// TestPreTokenizersCover checks on the corpus that every scanner's words are non-empty and join to
// the input.
func TestPreTokenizersCover(t *testing.T) {
	docs := corpus(t)
	for name, p := range preTokenizers {
		for _, d := range docs {
			words := p.split(d, nil)
			for _, w := range words {
				if w == "" {
					t.Fatalf("%s: empty word", name)
				}
			}
			if strings.Join(words, "") != d {
				t.Fatalf("%s: words do not join to the input", name)
			}
		}
	}
}
