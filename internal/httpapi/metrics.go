package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// durationBuckets are the upper bounds (seconds) of the request duration histogram. Completions of
// small local models take from milliseconds to minutes.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// metrics holds the counters of /metrics, written by hand in the Prometheus text format.
type metrics struct {
	inFlight atomic.Int64

	mu        sync.Mutex
	requests  map[routeStatus]uint64
	durations map[string]*histogram // by route
	tokensIn  map[string]uint64     // by model
	tokensOut map[string]uint64     // by model
}

type routeStatus struct {
	route  string
	status int
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

func newMetrics() *metrics {
	return &metrics{
		requests:  make(map[routeStatus]uint64),
		durations: make(map[string]*histogram),
		tokensIn:  make(map[string]uint64),
		tokensOut: make(map[string]uint64),
	}
}

// observe counts a finished request.
func (m *metrics) observe(route string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[routeStatus{route, status}]++
	h := m.durations[route]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(durationBuckets)+1)}
		m.durations[route] = h
	}
	sec := d.Seconds()
	i, _ := slices.BinarySearch(durationBuckets, sec)
	h.counts[i]++
	h.sum += sec
	h.count++
}

// tokens counts the tokens of a model call.
func (m *metrics) tokens(model string, in, out int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokensIn[model] += uint64(max(in, 0))
	m.tokensOut[model] += uint64(max(out, 0))
}

// serveMetrics writes the metrics in the Prometheus text exposition format (version 0.0.4).
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	var b strings.Builder
	s.metrics.write(&b, s)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
	return nil
}

func (m *metrics) write(b *strings.Builder, s *Server) {
	m.mu.Lock()
	defer m.mu.Unlock()

	header(b, "seance_build_info", "gauge", "The version of the running seance.")
	fmt.Fprintf(b, "seance_build_info{version=%s} 1\n", quote(s.opts.Version))

	header(b, "seance_http_requests_total", "counter", "HTTP requests by route and status.")
	keys := make([]routeStatus, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b routeStatus) int {
		if c := strings.Compare(a.route, b.route); c != 0 {
			return c
		}
		return a.status - b.status
	})
	for _, k := range keys {
		fmt.Fprintf(b, "seance_http_requests_total{route=%s,code=\"%d\"} %d\n", quote(k.route), k.status, m.requests[k])
	}

	header(b, "seance_http_requests_in_flight", "gauge", "HTTP requests being served.")
	fmt.Fprintf(b, "seance_http_requests_in_flight %d\n", m.inFlight.Load())
	header(b, "seance_model_calls_running", "gauge", "Requests holding a model slot.")
	fmt.Fprintf(b, "seance_model_calls_running %d\n", s.limit.running())
	header(b, "seance_queue_depth", "gauge", "Requests waiting for a model slot.")
	fmt.Fprintf(b, "seance_queue_depth %d\n", s.limit.queued())

	header(b, "seance_prompt_tokens_total", "counter", "Prompt tokens processed, by model.")
	writeByModel(b, "seance_prompt_tokens_total", m.tokensIn)
	header(b, "seance_completion_tokens_total", "counter", "Completion tokens generated, by model.")
	writeByModel(b, "seance_completion_tokens_total", m.tokensOut)

	header(b, "seance_http_request_duration_seconds", "histogram", "HTTP request duration by route.")
	routes := make([]string, 0, len(m.durations))
	for r := range m.durations {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	for _, r := range routes {
		h := m.durations[r]
		var cum uint64
		for i, le := range durationBuckets {
			cum += h.counts[i]
			fmt.Fprintf(b, "seance_http_request_duration_seconds_bucket{route=%s,le=\"%s\"} %d\n",
				quote(r), strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		cum += h.counts[len(durationBuckets)]
		fmt.Fprintf(b, "seance_http_request_duration_seconds_bucket{route=%s,le=\"+Inf\"} %d\n", quote(r), cum)
		fmt.Fprintf(b, "seance_http_request_duration_seconds_sum{route=%s} %s\n", quote(r),
			strconv.FormatFloat(h.sum, 'g', -1, 64))
		fmt.Fprintf(b, "seance_http_request_duration_seconds_count{route=%s} %d\n", quote(r), h.count)
	}
}

func header(b *strings.Builder, name, typ, help string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func writeByModel(b *strings.Builder, name string, byModel map[string]uint64) {
	models := make([]string, 0, len(byModel))
	for k := range byModel {
		models = append(models, k)
	}
	slices.Sort(models)
	for _, k := range models {
		fmt.Fprintf(b, "%s{model=%s} %d\n", name, quote(k), byModel[k])
	}
}

// quote writes a label value with the escapes of the text format: backslash, double quote, newline.
func quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}
