package home

import "testing"

// seeds adds the built-in examples of a kind and a few broken files as fuzz seeds.
func seeds(f *testing.F, dir string) {
	f.Helper()
	ents, err := examples.ReadDir("examples/" + dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		b, err := examples.ReadFile("examples/" + dir + "/" + e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("---\nname: [\n---\n"))
	f.Add([]byte("name: x\nparams: {a: .nan}\n"))
	f.Add([]byte("name: x\nparams: {1: 2}\n"))
}

// FuzzParseAgent checks that any agent file is either accepted, and then survives a round trip
// through MarshalAgent, or rejected with at least one problem — never a panic.
func FuzzParseAgent(f *testing.F) {
	seeds(f, "agents")
	f.Fuzz(func(t *testing.T, src []byte) {
		var list []Problem
		af, ok := parseAgent("agents/x.md", "x", src, &list)
		if ok != (len(list) == 0) {
			t.Fatalf("ok %v with problems %v", ok, list)
		}
		if !ok {
			return
		}
		out, err := MarshalAgent(af.spec)
		if err != nil {
			t.Fatal(err)
		}
		again, ok := parseAgent("agents/x.md", "x", out, &list)
		if !ok || again.spec.System != af.spec.System || again.spec.Model != af.spec.Model {
			t.Fatalf("round trip: %v\n%q\n%q", list, src, out)
		}
	})
}

// FuzzParseTeam checks that any team file is accepted, and then survives a round trip through
// MarshalTeam, or rejected with at least one problem — never a panic.
func FuzzParseTeam(f *testing.F) {
	seeds(f, "teams")
	f.Fuzz(func(t *testing.T, src []byte) {
		var list []Problem
		tf, ok := parseTeam("teams/x.yaml", "x", src, &list)
		if ok != (len(list) == 0) {
			t.Fatalf("ok %v with problems %v", ok, list)
		}
		if !ok {
			return
		}
		out, err := MarshalTeam(tf.spec)
		if err != nil {
			t.Fatal(err)
		}
		again, ok := parseTeam("teams/x.yaml", "x", out, &list)
		if !ok || string(again.spec.Params) != string(tf.spec.Params) || again.spec.Budget != tf.spec.Budget {
			t.Fatalf("round trip: %v\n%q\n%q", list, src, out)
		}
	})
}
