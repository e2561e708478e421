package httpapi

import (
	"strings"
	"testing"
	"time"
)

func TestMetricsText(t *testing.T) {
	s := New(Options{Models: &fakeSource{}, Version: `v"1`})
	for _, d := range []time.Duration{3 * time.Millisecond, 5 * time.Millisecond, 200 * time.Millisecond, 500 * time.Second} {
		s.metrics.observe("/r", 200, d)
	}
	s.metrics.observe("/r", 404, time.Millisecond)
	s.metrics.tokens("m\n1", 5, 2)
	var b strings.Builder
	s.metrics.write(&b, s)
	got := b.String()
	for _, want := range []string{
		`seance_build_info{version="v\"1"} 1`,
		`seance_http_requests_total{route="/r",code="200"} 4`,
		`seance_http_requests_total{route="/r",code="404"} 1`,
		`seance_http_request_duration_seconds_bucket{route="/r",le="0.005"} 3`, // le is inclusive
		`seance_http_request_duration_seconds_bucket{route="/r",le="0.25"} 4`,
		`seance_http_request_duration_seconds_bucket{route="/r",le="300"} 4`,
		`seance_http_request_duration_seconds_bucket{route="/r",le="+Inf"} 5`,
		`seance_http_request_duration_seconds_count{route="/r"} 5`,
		`seance_prompt_tokens_total{model="m\n1"} 5`,
		`seance_completion_tokens_total{model="m\n1"} 2`,
		"# TYPE seance_http_request_duration_seconds histogram",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, got)
		}
	}
	// Every sample line is "name{labels} value" or "name value".
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		if strings.HasPrefix(line, "# ") {
			continue
		}
		want := 1 // the value after the labels
		i := strings.LastIndex(line, "}")
		if i < 0 {
			want = 2 // name and value
		}
		if f := strings.Fields(line[i+1:]); len(f) != want {
			t.Errorf("malformed sample line %q", line)
		}
	}
}
