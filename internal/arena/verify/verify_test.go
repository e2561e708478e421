package verify

import (
	"context"
	"testing"
)

func TestExtractNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		pct  bool
	}{
		{"She makes 9 * 2 = $18 every day.\n#### 18", 18, false},
		{"#### 1,234", 1234, false},
		{"The answer is 3/4.", 0.75, false},
		{"So x = \\frac{3}{4}, and the answer is $\\boxed{\\frac{3}{4}}$", 0.75, false},
		{"The answer is -5 degrees.", -5, false},
		{"It cost $1,234.50 in total.", 1234.5, false},
		{"About 1.5e3 people came", 1500, false},
		{"The answer is 2.5E-2", 0.025, false},
		{"She got 50% of them", 50, true},
		{"Answer: 12 km", 12, false},
		{"16 - 3 - 4 = 9 eggs", 9, false},
		{"The temperature is −7 °C", -7, false},
		{"We need 3 boxes... the answer is 42. Check: 42 - 40 = 2", 42, false},
		{"\\boxed{1{,}000}", 1000, false},
		{"Total: .5 liters", 0.5, false},
		{"The final answer is 7 (after 3 steps)", 7, false},
	}
	for _, tt := range tests {
		got, ok := ExtractNumber(tt.in)
		if !ok || got.Value != tt.want || got.Percent != tt.pct {
			t.Errorf("ExtractNumber(%q) = %+v, %v; want %v (percent %v)", tt.in, got, ok, tt.want, tt.pct)
		}
	}
	if _, ok := ExtractNumber("no digits here"); ok {
		t.Error("ExtractNumber found a number in text without digits")
	}
}

func TestNumeric(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		gold, answer string
		want         bool
	}{
		{"18", "The answer is 18.", true},
		{"18", "The answer is 19.", false},
		{"43,500", "#### 43500", true},
		{"43,500", "She earns $43,500 a year.", true},
		{"0.75", "3/4", true},
		{"3/4", "0.75", true},
		{"0.5", "50%", true},
		{"50", "50%", true},
		{"-3", "The answer is -3", true},
		{"-3", "The answer is 3", false},
		{"1500", "1.5e3", true},
		{"19.0", "19", true},
		{"2", "2.0000001", true},
		{"2", "2.01", false},
		{"7", "I am not sure.", false},
	}
	for _, tt := range tests {
		v, err := NewNumeric(tt.gold)
		if err != nil {
			t.Fatalf("NewNumeric(%q): %v", tt.gold, err)
		}
		got, err := v.Verify(ctx, tt.answer)
		if err != nil || got.Correct != tt.want {
			t.Errorf("gold %q answer %q: %+v, %v; want correct=%v", tt.gold, tt.answer, got, err, tt.want)
		}
	}
	if _, err := NewNumeric("one or two"); err == nil {
		t.Error("NewNumeric accepted a gold answer without a number")
	}
	if _, err := NewNumeric("1 2"); err == nil {
		t.Error("NewNumeric accepted a gold answer with two numbers")
	}
	tol := Numeric{Gold: 100, AbsTol: 0.5}
	if v, _ := tol.Verify(ctx, "100.4"); !v.Correct {
		t.Error("absolute tolerance 0.5 rejected 100.4 for 100")
	}
	if v, _ := tol.Verify(ctx, "100.6"); v.Correct {
		t.Error("absolute tolerance 0.5 accepted 100.6 for 100")
	}
}

func TestExtractChoice(t *testing.T) {
	abcd := []string{"A", "B", "C", "D"}
	tests := []struct {
		in   string
		want string
	}{
		{"Answer: C", "C"},
		{"The answer is (B).", "B"},
		{"I think option D is right", "D"},
		{"(A) is wrong because... so (C)", "C"},
		{"C", "C"},
		{"**B**", "B"},
		{"B. Because plants need light.", "B"},
		{"The correct choice is c)", "C"},
		{"A plant needs water, so the answer is D", "D"},
		{"\\boxed{A}", "A"},
		{"The answer is D. Option B is wrong because it ignores friction.", "D"},
		{"Option A looks tempting, but the correct choice is (C).", "C"},
		{"The answer is a bit tricky, but I'd pick (B)", "B"},
		{"Record the details of the investigation.", "D"},
	}
	texts := []string{"Put the objects in groups.", "Change the height of the ramp.", "Choose different objects to roll.", "Record the details of the investigation."}
	for _, tt := range tests {
		got, ok := ExtractChoice(tt.in, abcd, texts)
		if !ok || got != tt.want {
			t.Errorf("ExtractChoice(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
	if got, ok := ExtractChoice("Answer: 3", []string{"1", "2", "3", "4"}, nil); !ok || got != "3" {
		t.Errorf("numeric labels: got %q, %v", got, ok)
	}
	if got, ok := ExtractChoice("The answer is E", abcd, nil); ok {
		t.Errorf("label outside the item's labels accepted: %q", got)
	}
	if got, ok := ExtractChoice("I do not know", abcd, nil); ok {
		t.Errorf("found a choice in a reply without one: %q", got)
	}
}

func TestChoiceVerifier(t *testing.T) {
	c, err := NewChoice("C", []string{"A", "B", "C", "D"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for answer, want := range map[string]bool{"Answer: C": true, "(C)": true, "Answer: B": false, "nothing": false} {
		v, err := c.Verify(context.Background(), answer)
		if err != nil || v.Correct != want {
			t.Errorf("%q: %+v, %v; want %v", answer, v, err, want)
		}
	}
	if _, err := NewChoice("E", []string{"A", "B"}, nil); err == nil {
		t.Error("NewChoice accepted a gold label outside the labels")
	}
}

func TestLaTeXEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`\frac43`, `\frac{4}{3}`, true},
		{`\dfrac{4}{9}`, `4/9`, true},
		{`\frac{\sqrt{21}}{5}`, `\sqrt{21}/5`, true},
		{`\frac{\sqrt{21}}{5}`, `\frac{\sqrt{21}}{6}`, false},
		{`\sqrt3`, `\sqrt{3}`, true},
		{`\sqrt{12}`, `2\sqrt{3}`, true},
		{`120^\circ`, `120`, true},
		{`120^{\circ}`, `120°`, true},
		{`\left( 15, -29 \right)`, `(15,-29)`, true},
		{`(15,-29)`, `(-29,15)`, false},
		{`(-\infty, 0]`, `(-\infty,0]`, true},
		{`(-\infty, 0]`, `(-\infty, 0)`, false},
		{`(0,9) \cup (9,36)`, `(0, 9)\cup(9, 36)`, true},
		{`(0,9) \cup (9,36)`, `(0,9) \cup (9,35)`, false},
		{`5.0`, `5`, true},
		{`.5`, `\frac12`, true},
		{`10\%`, `10`, true},
		{`\$18.00`, `18`, true},
		{`x = 5`, `5`, true},
		{`\text{(C)}`, `(C)`, true},
		{`12\text{ cm}`, `12`, true},
		{`12 cm`, `12`, true},
		{`12 inches`, `13`, false},
		{`12\text{ cm}^2`, `12`, true},
		{`\sqrt23`, `3\sqrt2`, true},
		{`2x`, `2`, false},
		{`6r^2-4r-24`, `-24 + 6r^2 - 4r`, true},
		{`6r^2-4r-24`, `6r^2-4r-23`, false},
		{`x^8 + x^7 + x^6 + x^5 + x^4 + x^3 + x^2 + x + 1`, `\frac{x^9-1}{x-1}`, true},
		{`\begin{pmatrix} -1/3 \\ 2/3 \\ 5/3 \end{pmatrix}`, `\begin{pmatrix} -\frac13 \\ \frac23 \\ \frac53 \end{pmatrix}`, true},
		{`\begin{pmatrix} 1/5 \\ -18/5 \end{pmatrix}`, `\begin{pmatrix} 1/5 \\ 18/5 \end{pmatrix}`, false},
		{`1,000`, `1000`, true},
		{`-2, 3`, `3, -2`, true},
		{`\{1,2\}`, `\{2,1\}`, true},
		{`2\pi`, `2 \pi`, true},
		{`\frac{2\pi}{3}`, `\frac{2}{3}\pi`, true},
		{`\sqrt[3]{8}`, `2`, true},
		{`40_9`, `40_9`, true},
		{`40_9`, `41_9`, false},
		{`\text{Devon}`, `\text{noveD}`, false},
		{`0.33`, `\frac13`, false},
		{`x+1`, `y+1`, false},
	}
	for _, tt := range tests {
		if got := LaTeXEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("LaTeXEqual(%q, %q) = %v; want %v (normalised %q, %q)", tt.a, tt.b, got, tt.want, NormalizeLaTeX(tt.a), NormalizeLaTeX(tt.b))
		}
	}
}

func TestExtractBoxed(t *testing.T) {
	tests := []struct{ in, want string }{
		{`so $\boxed{\frac{1}{2}}$.`, `\frac{1}{2}`},
		{`\boxed{1} then \boxed{\begin{pmatrix} 1 \\ 2 \end{pmatrix}}`, `\begin{pmatrix} 1 \\ 2 \end{pmatrix}`},
		{`\boxed 5.`, `5`},
		{`\fbox{7}`, `7`},
	}
	for _, tt := range tests {
		if got, ok := ExtractBoxed(tt.in); !ok || got != tt.want {
			t.Errorf("ExtractBoxed(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
	if _, ok := ExtractBoxed(`\boxed{unclosed`); ok {
		t.Error("an unclosed \\boxed{ was extracted")
	}
}

func TestLaTeXVerifier(t *testing.T) {
	l := LaTeX{Gold: `\frac{14}{3}`}
	for answer, want := range map[string]bool{
		"We simplify and get $\\boxed{\\dfrac{14}{3}}$.": true,
		"The answer is $14/3$.":                          true,
		"The answer is $\\frac{13}{3}$.":                 false,
		"Adding the parts gives $x = \\frac{14}{3}$.":    true,
		"Adding the parts gives $x = \\frac{13}{3}$.":    false,
		"So x = 14/3": true,
		"":            false,
	} {
		v, err := l.Verify(context.Background(), answer)
		if err != nil || v.Correct != want {
			t.Errorf("%q: %+v, %v; want %v", answer, v, err, want)
		}
	}
}

func TestRegexAndExact(t *testing.T) {
	ctx := context.Background()
	r, err := NewRegex(`(?i)\bparis\b`)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := r.Verify(ctx, "It is Paris."); !v.Correct {
		t.Error("regex missed Paris")
	}
	if v, _ := r.Verify(ctx, "It is Lyon."); v.Correct {
		t.Error("regex matched Lyon")
	}
	if _, err := NewRegex("("); err == nil {
		t.Error("NewRegex accepted an invalid pattern")
	}
	e := Exact{Gold: "Blue whale"}
	for answer, want := range map[string]bool{
		"Blue whale":                       true,
		"The answer is **Blue whale**.":    true,
		"Thinking...\nAnswer: Blue  whale": true,
		"blue whale":                       false,
		"Blue whales":                      false,
	} {
		if v, _ := e.Verify(ctx, answer); v.Correct != want {
			t.Errorf("Exact %q: %+v; want %v", answer, v, want)
		}
	}
	if v, _ := (Exact{Gold: "Blue whale", Fold: true}).Verify(ctx, "blue WHALE"); !v.Correct {
		t.Error("Exact with Fold rejected a case difference")
	}
}
