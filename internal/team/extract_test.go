package team

import (
	"testing"
)

func TestExtractAnswer(t *testing.T) {
	for _, tc := range []struct {
		e    Extract
		in   string
		want string
		ok   bool
	}{
		{ExtractNumber, "There are 1,234 apples.", "1234", true},
		{ExtractNumber, "It costs $5.", "5", true},
		{ExtractNumber, "It costs -$5.", "-5", true},
		{ExtractNumber, "Three quarters: 3/4", "0.75", true},
		{ExtractNumber, "Temperature fell to -2.5 degrees", "-2.5", true},
		{ExtractNumber, "Step 1: 2+2=4. Step 2: 4*3 = 12. The answer is 12, not 13.", "12", true},
		{ExtractNumber, "so 6 * 7 = 42\n#### 42", "42", true},
		{ExtractNumber, "The answer is: $1,000,000.00 total, after 3 steps", "1000000", true},
		{ExtractNumber, "Half is 50%", "50", true},
		{ExtractNumber, "5.0", "5", true},
		{ExtractNumber, "one third is 1/3", "0.333333333333", true},
		{ExtractNumber, "v2 of the x3 plan", "", false},
		{ExtractNumber, "no digits here", "", false},
		{ExtractNumber, "divide 1/0", "", false}, // a zero denominator is no number
		{ExtractChoice, "The answer is (C).", "C", true},
		{ExtractChoice, "Answer: B", "B", true},
		{ExtractChoice, "I pick option D because A is wrong", "D", true},
		{ExtractChoice, "Considering (A) and (E), I'd go with (E)", "E", true},
		{ExtractChoice, "Reasoning...\nB) because it is blue", "B", true},
		{ExtractChoice, "  a.  ", "", false},
		{ExtractChoice, "C", "C", true},
		{ExtractChoice, "A dog is an animal", "", false},
		{ExtractChoice, "the answer is a dog", "", false},
		{ExtractCode, "Here:\n```go\nfunc f() {}   \n```\nand better:\n```python\n\nprint(1)  \n\n```\n", "print(1)", true},
		{ExtractCode, "no fence", "", false},
		{ExtractExact, "  \"Paris.\" ", "paris", true},
		{ExtractExact, "Paris", "paris", true},
		{ExtractExact, "The   capital is\nParis!", "the capital is paris", true},
		{ExtractExact, " ... ", "", false},
	} {
		got, ok := ExtractAnswer(tc.e, tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ExtractAnswer(%s, %q) = %q, %v; want %q, %v", tc.e, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzExtractAnswer(f *testing.F) {
	for _, s := range []string{"The answer is $1,234.5", "(C)", "```\ncode\n```", "3/0", "-$-5", "####"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range []Extract{ExtractNumber, ExtractChoice, ExtractCode, ExtractExact} {
			a, ok := ExtractAnswer(e, s)
			if ok != (a != "") {
				t.Fatalf("%s: ok %v with answer %q", e, ok, a)
			}
		}
		ParseVerdict(s)
	})
}
