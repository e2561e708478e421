package team

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/seance-dev/seance/internal/chat"
)

// binomialMajority is the probability that more than n/2 of n independent trials succeed with p.
func binomialMajority(n int, p float64) float64 {
	var sum float64
	for k := n/2 + 1; k <= n; k++ {
		sum += binom(n, k) * math.Pow(p, float64(k)) * math.Pow(1-p, float64(n-k))
	}
	return sum
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// TestVoteAccuracyMatchesBinomial runs many votes of members that answer correctly with probability p,
// independently (the draw is seeded by the sample's seed), and checks the measured accuracy of the
// majority against the binomial prediction within four standard deviations.
func TestVoteAccuracyMatchesBinomial(t *testing.T) {
	runs := 600
	if testing.Short() {
		runs = 200
	}
	const samples = 5
	for _, p := range []float64{0.6, 0.35} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			c := newCast()
			var members []string
			for i := range 3 {
				name := fmt.Sprintf("m%d", i)
				members = append(members, name)
				salt := uint64(i + 1)
				c.add(name, &fake{name: name, fn: func(req *chat.Request) (string, error) {
					rng := rand.New(rand.NewPCG(uint64(*req.Sampling.Seed), salt))
					if rng.Float64() < p {
						return "The answer is 42.", nil
					}
					return "The answer is 41.", nil
				}}, nil)
			}
			m := mustTeam(t, Team{Name: "v", Pattern: Vote, Members: members,
				Params: json.RawMessage(fmt.Sprintf(`{"samples":%d,"extract":"number"}`, samples))}, c)
			correct := 0
			for r := range runs {
				req := ask("6*7?")
				seed := int64(r * samples)
				req.Sampling.Seed = &seed
				res, err := m.Run(context.Background(), req, nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.Tally.Answer == "42" {
					correct++
				}
			}
			want := binomialMajority(samples, p)
			got := float64(correct) / float64(runs)
			sd := math.Sqrt(want * (1 - want) / float64(runs))
			t.Logf("p=%.2f: accuracy %.4f over %d runs, binomial prediction %.4f (sd %.4f)", p, got, runs, want, sd)
			if math.Abs(got-want) > 4*sd {
				t.Fatalf("accuracy %.4f, binomial prediction %.4f ± %.4f", got, want, 4*sd)
			}
		})
	}
}
