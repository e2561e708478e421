package constrain

import "testing"

// BenchmarkTry measures checking one candidate token in the middle of a nested object: the cost
// the engine pays per candidate (and, times the vocabulary, per full scan).
func BenchmarkTry(b *testing.B) {
	s, err := Compile([]byte(person))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, prefix, token string }{
		{"schema-string", `{"name":"Ann `, ` the`},
		{"schema-key", `{"name":"Ann", `, `"age`},
		{"any-deep", `{"a":[{"b":{"c":[1,2,{"d":"x`, `yz"`},
	} {
		sch := s
		if c.name == "any-deep" {
			sch = AnyObject()
		}
		a := sch.NewAcceptor()
		if !a.Feed([]byte(c.prefix)) {
			b.Fatalf("%s: prefix refused", c.name)
		}
		tok := []byte(c.token)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !a.Accepts(tok) {
					b.Fatal("refused")
				}
			}
		})
	}
}
