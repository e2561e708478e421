package runid

import (
	"regexp"
	"strings"
	"testing"
)

// TestMatchesTheExpression checks Valid against the regular expression it replaces.
func TestMatchesTheExpression(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	cases := []string{"", "a", "20261122-071900-3f9a2c1b", "-a", ".a", "a.b_c-d", "a/b", "a b", "é", "A",
		strings.Repeat("x", 128), strings.Repeat("x", 129), "a\n", "a..b"}
	for _, c := range cases {
		if got, want := Valid(c), re.MatchString(c); got != want {
			t.Errorf("Valid(%q) = %v, the expression says %v", c, got, want)
		}
	}
	if Name(strings.Repeat("x", 64), 64) != true || Name(strings.Repeat("x", 65), 64) != false {
		t.Errorf("Name's length bound")
	}
}
