//go:build linux && (amd64 || arm64)

package sandbox

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// BenchmarkRunTrue measures a sandboxed /bin/true from the call to Run until the process tree is gone
// and reports the median and 99th percentile (the bar from issue 5: p50 ≤ 10 ms).
//
//	go test -run '^$' -bench RunTrue -benchtime 300x ./internal/sandbox
func BenchmarkRunTrue(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (cgroups)")
	}
	dir := b.TempDir()
	spec := Spec{Argv: []string{"/bin/true"}, Dir: dir}
	ctx := context.Background()
	if _, err := Run(ctx, spec); err != nil { // warm up: host detection, page cache
		b.Fatal(err)
	}
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		res, err := Run(ctx, spec)
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("Run: %v, exit %d, stderr %q", err, res.ExitCode, res.Stderr)
		}
		times = append(times, time.Since(t0))
	}
	reportPercentiles(b, times)
}

// reportPercentiles reports the median and 99th percentile of times in milliseconds.
func reportPercentiles(b *testing.B, times []time.Duration) {
	b.StopTimer()
	slices.Sort(times)
	pct := func(p float64) float64 {
		return float64(times[int(p*float64(len(times)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkExecTrue is the unsandboxed baseline for BenchmarkRunTrue: os/exec of /bin/true.
func BenchmarkExecTrue(b *testing.B) {
	times := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
	}
	reportPercentiles(b, times)
}
