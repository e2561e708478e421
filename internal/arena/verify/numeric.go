package verify

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/seance-dev/seance/internal/fault"
)

// Number is a numeric answer read from text.
type Number struct {
	Value float64
	// Text is the matched text, e.g. "$1,234.50" or "3/4".
	Text string
	// Percent is set when a percent sign or the word "percent" followed the number.
	Percent bool
}

// numRe matches one number: an optional sign and currency sign, digits with optional thousands
// separators, a decimal part, an exponent, an optional "/denominator" and an optional percent.
var numRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`([-−+]?)[$€£¥]?\s?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:[eE]([-+]?\d+))?(?:\s*/\s*((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?))?(\s*(?:%|\\%|percent\b))?`)
})

// fracRe matches \frac{a}{b} (and \dfrac, \tfrac) with plain numbers inside.
var fracRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\\[dt]?frac\s*\{\s*([-−]?[\d.,]+)\s*\}\s*\{\s*([\d.,]+)\s*\}`)
})

// numberPrep rewrites LaTeX spellings of numbers into plain text: \frac{3}{4} → 3/4, 1{,}000 → 1,000.
func numberPrep(s string) string {
	s = strings.NewReplacer(`{,}`, ",", `\!`, "", `\,`, "", `\$`, "$", `\%`, "%", `\left`, "", `\right`, "", "−", "-").Replace(s)
	return fracRe().ReplaceAllString(s, "$1/$2")
}

// ExtractNumbers returns every number in s, in order. A minus sign right after a letter, digit or
// closing bracket is read as subtraction, not as a sign.
func ExtractNumbers(s string) []Number {
	s = numberPrep(s)
	var out []Number
	for _, m := range numRe().FindAllStringSubmatchIndex(s, -1) {
		sign := s[m[2]:m[3]]
		if sign == "-" && m[2] > 0 {
			prev := s[m[2]-1]
			if isAlnum(prev) || prev == ')' || prev == ']' || prev == '}' {
				sign = ""
			}
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(s[m[4]:m[5]], ",", ""), 64)
		if err != nil {
			continue
		}
		if m[6] >= 0 {
			e, err := strconv.Atoi(s[m[6]:m[7]])
			if err != nil || e > 308 || e < -324 {
				continue
			}
			v *= math.Pow(10, float64(e))
		}
		if m[8] >= 0 {
			d, err := strconv.ParseFloat(strings.ReplaceAll(s[m[8]:m[9]], ",", ""), 64)
			if err != nil || d == 0 {
				continue
			}
			v /= d
		}
		if sign == "-" {
			v = -v
		}
		out = append(out, Number{Value: v, Text: strings.TrimSpace(s[m[0]:m[1]]), Percent: m[10] >= 0})
	}
	return out
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// ExtractNumber reads the numeric answer of a reply: the first number after an explicit marker
// (\boxed{}, "####", "the answer is", "Answer:"), otherwise the last number in the reply.
func ExtractNumber(s string) (Number, bool) {
	region, marked := finalRegion(s)
	nums := ExtractNumbers(region)
	if len(nums) == 0 && marked {
		nums, marked = ExtractNumbers(s), false
	}
	if len(nums) == 0 {
		return Number{}, false
	}
	if marked {
		return nums[0], true
	}
	return nums[len(nums)-1], true
}

// ParseNumber reads a gold answer that must be exactly one number (with the same spellings that
// ExtractNumbers accepts, e.g. "1,234", "3/4", "-2.5e3", "$5", "40%").
func ParseNumber(s string) (float64, error) {
	nums := ExtractNumbers(s)
	if len(nums) != 1 {
		return 0, fault.New(fault.Invalid, "gold answer %q is not one number", s)
	}
	return nums[0].Value, nil
}

// Numeric verifies a numeric answer. Two values match when |a-b| <= AbsTol + RelTol·|b|; with both
// tolerances zero, AbsTol 1e-6 and RelTol 1e-9 are used (so 22090604 is not 22090603). An answer given as a percentage also matches when its value
// divided by 100 does ("50%" matches a gold 0.5 as well as 50).
type Numeric struct {
	Gold   float64
	AbsTol float64
	RelTol float64
}

var _ Verifier = Numeric{}

// NewNumeric returns a Numeric verifier for a gold answer written as text.
func NewNumeric(gold string) (Numeric, error) {
	v, err := ParseNumber(gold)
	if err != nil {
		return Numeric{}, err
	}
	return Numeric{Gold: v}, nil
}

// Verify extracts the reply's number (see ExtractNumber) and compares it with the gold value.
func (n Numeric) Verify(_ context.Context, answer string) (Verdict, error) {
	got, ok := ExtractNumber(answer)
	if !ok {
		return Verdict{Reason: "no number in the answer"}, nil
	}
	v := Verdict{Extracted: got.Text}
	if n.close(got.Value) || (got.Percent && n.close(got.Value/100)) {
		v.Correct = true
		return v, nil
	}
	v.Reason = fmt.Sprintf("%s is not %s", strconv.FormatFloat(got.Value, 'g', -1, 64), strconv.FormatFloat(n.Gold, 'g', -1, 64))
	return v, nil
}

func (n Numeric) close(x float64) bool {
	abs, rel := n.AbsTol, n.RelTol
	if abs == 0 && rel == 0 {
		abs, rel = 1e-6, 1e-9
	}
	return math.Abs(x-n.Gold) <= abs+rel*math.Abs(n.Gold)
}
