package arena

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"path/filepath"
	"strings"
	"time"
)

// The report files WriteReport writes next to a run's results.
const (
	ReportMarkdown = "report.md"
	ReportHTML     = "report.html"
	ReportChart    = "chart.svg"
)

// WriteReport writes summary.json, report.md, report.html (the chart embedded) and chart.svg into
// runDir and returns their names.
func WriteReport(runDir string, s Summary) ([]string, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("arena report: %w", err)
	}
	svg := Chart(s)
	files := map[string][]byte{
		SummaryFile:    append(b, '\n'),
		ReportChart:    []byte(svg),
		ReportMarkdown: []byte(Markdown(s)),
		ReportHTML:     []byte(HTML(s, svg)),
	}
	names := []string{SummaryFile, ReportMarkdown, ReportHTML, ReportChart}
	for _, n := range names {
		if err := writeSynced(filepath.Join(runDir, n), files[n]); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// pct formats a share as a percentage.
func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// si formats a count with an SI prefix (1.2k, 3.4M, 5.6G, 7.8T).
func si(x float64) string {
	if x == 0 {
		return "0"
	}
	for _, u := range []struct {
		v float64
		s string
	}{{1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if math.Abs(x) >= u.v {
			return fmt.Sprintf("%.3g%s", x/u.v, u.s)
		}
	}
	return fmt.Sprintf("%.3g", x)
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d >= time.Microsecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
	return d.String()
}

// headline is the report's one-sentence answer: who won, by how much, and whether it is clear.
func headline(s Summary) string {
	if len(s.Scores) == 0 {
		return "No answers were recorded."
	}
	best := 0
	for i, sc := range s.Scores {
		if sc.Accuracy.Estimate > s.Scores[best].Accuracy.Estimate {
			best = i
		}
	}
	b := s.Scores[best]
	txt := fmt.Sprintf("%s answered %d of %d items correctly (%s, 95%% interval %s–%s).", b.Contestant, b.Correct, b.Items,
		pct(b.Accuracy.Estimate), pct(b.Accuracy.Low), pct(b.Accuracy.High))
	overlap := 0
	for i, sc := range s.Scores {
		if i != best && sc.Accuracy.High >= b.Accuracy.Low {
			overlap++
		}
	}
	if len(s.Scores) > 1 {
		if overlap > 0 {
			txt += fmt.Sprintf(" Its interval overlaps that of %d other contestant(s): on %d items its lead over them is not clear.", overlap, s.Items)
		} else {
			txt += " Its interval overlaps no other contestant's."
		}
	}
	return txt
}

// matchSentence says what a compute-matched comparison shows.
func matchSentence(m Match) string {
	d := m.Difference
	verdict := "the difference is within the noise"
	switch {
	case d.Low > 0:
		verdict = "the team is better than voting the base model with the same tokens"
	case d.High < 0:
		verdict = "the vote of the base model beats the team at the same tokens"
	}
	return fmt.Sprintf("%s vs %s: the team won %d items, the vote %d, %d ties; accuracy difference %+.1f points (95%% interval %+.1f to %+.1f): %s.",
		m.Team, m.Baseline, m.TeamWins, m.BaselineWins, m.Ties, 100*d.Estimate, 100*d.Low, 100*d.High, verdict)
}

// Markdown renders the summary as a Markdown report (the chart beside it as chart.svg).
func Markdown(s Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Arena run %s\n\n", s.Run)
	fmt.Fprintf(&b, "Suite **%s**, %d items, seed %d, %s → %s.\n\n", s.Suite, s.Items, s.Seed,
		s.Started.Format(time.RFC3339), s.Finished.Format(time.RFC3339))
	fmt.Fprintf(&b, "%s\n\n", headline(s))
	fmt.Fprintf(&b, "![accuracy versus compute](%s)\n\n", ReportChart)
	b.WriteString("| contestant | accuracy | 95% interval | correct | errors | tokens/item (prompt + generated) | FLOPs/item | time/item |\n")
	b.WriteString("|---|---:|---|---:|---:|---:|---:|---:|\n")
	for _, sc := range s.Scores {
		name := sc.Contestant
		if sc.Team {
			name += " (team)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s – %s | %d/%d | %d | %s + %s | %s | %s |\n", mdEscape(name), pct(sc.Accuracy.Estimate),
			pct(sc.Accuracy.Low), pct(sc.Accuracy.High), sc.Correct, sc.Items, sc.Errors, si(sc.PromptTokens), si(sc.CompletionTokens),
			si(sc.FLOPs), dur(sc.Wall))
	}
	if hasErrors(s) {
		b.WriteString("\n## Errors\n\n")
		for _, sc := range s.Scores {
			for _, k := range sc.ErrorKinds {
				fmt.Fprintf(&b, "- %s: %s\n", mdEscape(sc.Contestant), mdEscape(ErrorLine(k)))
			}
		}
	}
	if len(s.Matches) > 0 {
		b.WriteString("\n## Teams against their base model at the same compute\n\n")
		b.WriteString("Each team is compared with its base model's self-consistency vote: the base model is sampled until it has generated as many tokens on the item as the team did, and the majority answer counts. Published work finds most multi-agent gains vanish against this baseline.\n\n")
		for _, m := range s.Matches {
			fmt.Fprintf(&b, "- %s\n", mdEscape(matchSentence(m)))
		}
	}
	b.WriteString("\nAccuracy counts errors (a contestant that failed to answer) as wrong. Intervals are percentile bootstraps over the items (1000 resamples, seeded). FLOPs are the backends' estimates (0 where a backend cannot know).\n")
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func hasErrors(s Summary) bool {
	for _, sc := range s.Scores {
		if len(sc.ErrorKinds) > 0 {
			return true
		}
	}
	return false
}

// ErrorLine describes one kind of error: how many answers failed so, and the first one's text.
func ErrorLine(k ErrorKind) string {
	ex := shorten(strings.Join(strings.Fields(k.Example), " "), 300)
	if k.Count == 1 {
		return "1 answer failed: " + ex
	}
	return fmt.Sprintf("%d answers failed like this: %s", k.Count, ex)
}

// HTML renders the summary as a self-contained HTML page with the chart inline.
func HTML(s Summary, svg string) string {
	var b strings.Builder
	e := html.EscapeString
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<title>Arena run %s</title>\n", e(s.Run))
	b.WriteString(`<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em} .meta{color:#666} .headline{font-size:1.1em;margin:1em 0}
table{border-collapse:collapse;width:100%;margin:1em 0} th,td{padding:.35em .6em;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left;white-space:normal} th{background:#f4f4f4} td{white-space:nowrap}
.bar{display:inline-block;height:.7em;background:#4c78a8;vertical-align:middle;margin-right:.4em}
.note{color:#666;font-size:.9em} .win{color:#2a7a2a} .loss{color:#b03030}
</style></head><body>
`)
	fmt.Fprintf(&b, "<h1>Arena run %s</h1>\n<p class=\"meta\">Suite <b>%s</b> · %d items · seed %d · %s → %s</p>\n",
		e(s.Run), e(s.Suite), s.Items, s.Seed, s.Started.Format(time.RFC3339), s.Finished.Format(time.RFC3339))
	fmt.Fprintf(&b, "<p class=\"headline\">%s</p>\n", e(headline(s)))
	b.WriteString(svg)
	b.WriteString("\n<table><tr><th>contestant</th><th>accuracy</th><th>95% interval</th><th>correct</th><th>errors</th><th>tokens/item<br>prompt + generated</th><th>FLOPs/item</th><th>time/item</th></tr>\n")
	for _, sc := range s.Scores {
		name := e(sc.Contestant)
		if sc.Team {
			name += " <small>(team)</small>"
		}
		fmt.Fprintf(&b, "<tr><td>%s</td><td><span class=\"bar\" style=\"width:%.0fpx\"></span>%s</td><td>%s – %s</td><td>%d/%d</td><td>%d</td><td>%s + %s</td><td>%s</td><td>%s</td></tr>\n",
			name, 80*sc.Accuracy.Estimate, pct(sc.Accuracy.Estimate), pct(sc.Accuracy.Low), pct(sc.Accuracy.High), sc.Correct, sc.Items, sc.Errors,
			si(sc.PromptTokens), si(sc.CompletionTokens), si(sc.FLOPs), dur(sc.Wall))
	}
	b.WriteString("</table>\n")
	if hasErrors(s) {
		b.WriteString("<h2>Errors</h2>\n<ul>\n")
		for _, sc := range s.Scores {
			for _, k := range sc.ErrorKinds {
				fmt.Fprintf(&b, "<li><b>%s</b>: %s</li>\n", e(sc.Contestant), e(ErrorLine(k)))
			}
		}
		b.WriteString("</ul>\n")
	}
	if len(s.Matches) > 0 {
		b.WriteString("<h2>Teams against their base model at the same compute</h2>\n<p>Each team is compared with its base model's self-consistency vote: the base model is sampled until it has generated as many tokens on the item as the team did, and the majority answer counts.</p>\n<ul>\n")
		for _, m := range s.Matches {
			cls := ""
			switch {
			case m.Difference.Low > 0:
				cls = " class=\"win\""
			case m.Difference.High < 0:
				cls = " class=\"loss\""
			}
			fmt.Fprintf(&b, "<li%s>%s</li>\n", cls, e(matchSentence(m)))
		}
		b.WriteString("</ul>\n")
	}
	b.WriteString("<p class=\"note\">Accuracy counts errors as wrong. Intervals are percentile bootstraps over the items (1000 resamples, seeded). FLOPs are the backends' estimates.</p>\n</body></html>\n")
	return b.String()
}

// palette colours the contestants in the chart.
var palette = []string{"#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d"}

// Chart draws accuracy (with its 95% interval as an error bar) against compute per item on a log
// scale: estimated FLOPs when every contestant has them, else generated tokens. Hand-written SVG.
func Chart(s Summary) string {
	const W, H = 900.0, 440.0
	const left, right, top, bottom = 70.0, 290.0, 30.0, 60.0
	pw, ph := W-left-right, H-top-bottom
	useFLOPs := len(s.Scores) > 0
	for _, sc := range s.Scores {
		if sc.FLOPs <= 0 {
			useFLOPs = false
		}
	}
	xOf := func(sc Score) float64 {
		if useFLOPs {
			return sc.FLOPs
		}
		return math.Max(sc.CompletionTokens, 1)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, sc := range s.Scores {
		x := math.Log10(xOf(sc))
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	if len(s.Scores) == 0 {
		lo, hi = 0, 1
	}
	lo, hi = math.Floor(lo), math.Ceil(hi)
	if hi-lo < 1 {
		hi = lo + 1
	}
	px := func(x float64) float64 { return left + (math.Log10(x)-lo)/(hi-lo)*pw }
	py := func(a float64) float64 { return top + (1-a)*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="system-ui,sans-serif" font-size="12">`, W, H, W, H)
	b.WriteString("\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n")
	fmt.Fprintf(&b, "<title>accuracy versus compute, %s</title>\n", html.EscapeString(s.Suite))
	// Grid and axes.
	for a := 0.0; a <= 1.0001; a += 0.2 {
		y := py(a)
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#e4e4e4"/><text x="%g" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#555">%.0f%%</text>`+"\n",
			left, y, left+pw, y, left-8, y, a*100)
	}
	for e := lo; e <= hi; e++ {
		x := left + (e-lo)/(hi-lo)*pw
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#e4e4e4"/><text x="%.1f" y="%g" text-anchor="middle" fill="#555">%s</text>`+"\n",
			x, top, x, top+ph, x, top+ph+18, si(math.Pow(10, e)))
		if e < hi {
			for m := 2.0; m < 10; m++ {
				mx := left + (e+math.Log10(m)-lo)/(hi-lo)*pw
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#999"/>`+"\n", mx, top+ph, mx, top+ph+4)
			}
		}
	}
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#888"/>`+"\n", left, top, pw, ph)
	xl := "generated tokens per item (log scale)"
	if useFLOPs {
		xl = "estimated FLOPs per item (log scale)"
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle" fill="#333">%s</text>`+"\n", left+pw/2, H-18, xl)
	fmt.Fprintf(&b, `<text transform="translate(18 %g) rotate(-90)" text-anchor="middle" fill="#333">accuracy (95%% interval)</text>`+"\n", top+ph/2)
	// Lines from each team to its baseline, then the points with error bars.
	// Points at (nearly) the same compute — a team and its matched vote always are — are set apart
	// sideways so both error bars show.
	pos := map[string][2]float64{}
	var xs []float64
	for _, sc := range s.Scores {
		x := px(xOf(sc))
		for moved := true; moved; {
			moved = false
			for _, u := range xs {
				if math.Abs(u-x) < 10 {
					x, moved = u+12, true
				}
			}
		}
		xs = append(xs, x)
		pos[sc.Contestant] = [2]float64{x, py(sc.Accuracy.Estimate)}
	}
	for _, m := range s.Matches {
		a, okA := pos[m.Team]
		c, okC := pos[m.Baseline]
		if okA && okC {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#aaa" stroke-dasharray="4 3"/>`+"\n", a[0], a[1], c[0], c[1])
		}
	}
	for i, sc := range s.Scores {
		col := palette[i%len(palette)]
		x := pos[sc.Contestant][0]
		y0, y1, y := py(sc.Accuracy.Low), py(sc.Accuracy.High), py(sc.Accuracy.Estimate)
		name := html.EscapeString(sc.Contestant)
		fmt.Fprintf(&b, `<g><title>%s: %s (%s–%s)</title>`, name, pct(sc.Accuracy.Estimate), pct(sc.Accuracy.Low), pct(sc.Accuracy.High))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`, x, y0, x, y1, col)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`, x-5, y0, x+5, y0, col)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`, x-5, y1, x+5, y1, col)
		if sc.Of != "" {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s" stroke="white"/>`, x-5, y-5, col)
		} else {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="6" fill="%s" stroke="white"/>`, x, y, col)
		}
		b.WriteString("</g>\n")
		// Legend.
		ly := top + 10 + float64(i)*20
		if sc.Of != "" {
			fmt.Fprintf(&b, `<rect x="%g" y="%g" width="10" height="10" fill="%s"/>`, left+pw+13, ly-5, col)
		} else {
			fmt.Fprintf(&b, `<circle cx="%g" cy="%g" r="5" fill="%s"/>`, left+pw+18, ly, col)
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g" dominant-baseline="middle">%s %s</text>`+"\n",
			left+pw+28, ly, html.EscapeString(shorten(sc.Contestant, 34)), pct(sc.Accuracy.Estimate))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
