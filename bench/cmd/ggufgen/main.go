// Command ggufgen writes a GGUF model of a realistic shape with random weights, for benchmarks and
// tests:
//
//	go run ./bench/cmd/ggufgen -o smollm2.gguf -shape smollm2-135m -type q8_0
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/seance-dev/seance/bench/ggufgen"
	"github.com/seance-dev/seance/internal/engine/tensor"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ggufgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ggufgen", flag.ContinueOnError)
	out := fs.String("o", "", "output file (required)")
	shape := fs.String("shape", "smollm2-135m", "model shape: "+strings.Join(ggufgen.ShapeNames(), ", "))
	typ := fs.String("type", "q8_0", "weight type: f32, f16, bf16, q8_0 or q4_0")
	seed := fs.Uint64("seed", 1, "random seed")
	std := fs.Float64("std", 0.02, "standard deviation of the weights")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("-o is required and no arguments are taken")
	}
	s, ok := ggufgen.Shapes[*shape]
	if !ok {
		return fmt.Errorf("unknown shape %q (have %s)", *shape, strings.Join(ggufgen.ShapeNames(), ", "))
	}
	types := map[string]tensor.Type{"f32": tensor.F32, "f16": tensor.F16, "bf16": tensor.BF16, "q8_0": tensor.Q8_0, "q4_0": tensor.Q4_0}
	t, ok := types[strings.ToLower(*typ)]
	if !ok {
		return fmt.Errorf("unknown type %q (want f32, f16, bf16, q8_0 or q4_0)", *typ)
	}
	return ggufgen.WriteFile(*out, ggufgen.Options{Shape: s, Name: *shape + "-random", Type: t, Seed: *seed, Std: *std})
}
