package verify

import (
	"context"
	"testing"
)

func FuzzExtract(f *testing.F) {
	for _, s := range []string{"#### 1,234", `\boxed{\frac{1}{2}}`, "Answer: (C)", "The answer is -3.5e2%", "```python\ndef f(): pass\n```", `\boxed{`, "((((1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ExtractNumber(s)
		ExtractChoice(s, []string{"A", "B", "C", "D"}, []string{"a", "b", "c", "d"})
		ExtractFinal(s)
		ExtractCode(s, "f")
		if _, err := (LaTeX{Gold: `\frac{1}{2}`}).Verify(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzLaTeXEqual(f *testing.F) {
	for _, s := range [][2]string{{`\frac43`, `4/3`}, {`(0,1]\cup(2,3)`, `\{1,2\}`}, {`\sqrt[3]{x^2}`, `x^{2/3}`}, {`\begin{pmatrix}1\\2\end{pmatrix}`, `M(1;2)`}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if LaTeXEqual(a, b) != LaTeXEqual(a, b) {
			t.Fatal("LaTeXEqual is not deterministic")
		}
		if len(a) < 200 && !LaTeXEqual(a, a) && NormalizeLaTeX(a) != "" {
			// Equal text must be equal; only an empty normal form may compare unequal to itself.
			t.Fatalf("LaTeXEqual(%q, itself) = false", a)
		}
	})
}
