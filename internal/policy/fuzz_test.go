package policy

import "testing"

// FuzzParse: policy files never panic the parser, and what parses round-trips through Marshal.
func FuzzParse(f *testing.F) {
	f.Add([]byte("read: [\"**\"]\nwrite: [src/**]\ntools: {run: ask}\nlimits: {memory: 1G, wall: 2m}\n"))
	f.Add([]byte("hosts: [\"*.example.org\"]\ndefault: deny\n"))
	f.Add([]byte("- x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		b, err := Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse("fuzz.yaml", b); err != nil {
			t.Fatalf("round trip of %q: %v\n%s", data, err, b)
		}
		p.Decide(Call{Tool: "run", Argv: []string{"sh"}, Read: []string{"a/b"}})
	})
}
