package team

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
)

// The instructions patterns add to members' system prompts. They are part of the transcript (each
// call's Input), so a change here shows in saved runs.
const (
	routerPrompt = "You route requests to the member best suited to answer them. Reply with the member's name only, exactly as written, and nothing else.\n\nMembers:"

	aggregatePrompt = "Below are answers other assistants gave to the user's latest request. Some may be wrong or biased. Weigh them critically and write one answer of your own that is accurate, complete and well organised; do not just copy or list them.\n\nAnswers:"

	moderatorPrompt = "You moderate a debate. Summarise each participant's position fairly, note where they agree and disagree, and then give a conclusion."

	reviewerPrompt = "You review a draft answer. Point out concrete errors and omissions. End with a line \"Verdict: APPROVED\" if the draft can be given as is, or \"Verdict: REVISE\" if it must change."
)

// numbered lists answers as "1. ...", separated by blank lines.
func numbered(answers []string) string {
	var b strings.Builder
	for i, a := range answers {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "%d. %s", i+1, a)
	}
	return b.String()
}

// firstErr returns the first error among replies, or a generic one.
func firstErr(replies []reply) error {
	for _, r := range replies {
		if r.err != nil {
			return r.err
		}
	}
	return fault.New(fault.Internal, "no member answered")
}

// ---- route

// route sends the request to one member: the first rule that matches the last user message, else the
// model router's (validated) choice, else the fallback. If the chosen member fails before streaming,
// the fallback answers instead.
func route(r *run, p *RouteParams) (outcome, error) {
	text := lastUser(r.req.Messages)
	info := &RouteInfo{}
	for i := range p.Rules {
		if p.Rules[i].matches(text) {
			info.Member, info.By, info.Rule = p.Rules[i].Member, "rule", i
			break
		}
	}
	if info.Member == "" && p.Router != "" {
		info.Member = askRouter(r, p, text, info)
		if info.Member != "" {
			info.By = "router"
		}
	}
	if info.Member == "" {
		info.Member, info.By = p.Fallback, "fallback"
	}
	r.mu.Lock()
	r.route = info
	r.mu.Unlock()
	r.pub.Publish(Event{Kind: RouteChosen, Member: info.Member, Text: info.By})

	out, err := r.final(step{Member: info.Member, Role: "member", Messages: r.req.Messages})
	if err != nil && info.Member != p.Fallback && r.stopped() == nil {
		r.degrade("routed member %q failed; the fallback %q answered", info.Member, p.Fallback)
		return r.final(step{Member: p.Fallback, Role: "fallback", Messages: r.req.Messages})
	}
	return out, err
}

// matches reports whether the rule picks text.
func (rule *RouteRule) matches(text string) bool {
	lower := strings.ToLower(text)
	for _, k := range rule.Keywords {
		if k != "" && containsWord(lower, strings.ToLower(k)) {
			return true
		}
	}
	return rule.re != nil && rule.re.MatchString(text)
}

// containsWord reports whether kw occurs in s as a whole word. Word boundaries are required only at
// an edge of kw that is an ASCII letter or digit, so keywords in scripts that attach particles to
// words (Korean, Japanese) match inside words.
func containsWord(s, kw string) bool {
	first, _ := utf8.DecodeRuneInString(kw)
	last, _ := utf8.DecodeLastRuneInString(kw)
	for from := 0; from <= len(s)-len(kw); {
		i := strings.Index(s[from:], kw)
		if i < 0 {
			return false
		}
		i += from
		okStart := !isASCIIWord(first) || i == 0 || !isWordRune(lastRune(s[:i]))
		end := i + len(kw)
		okEnd := !isASCIIWord(last) || end == len(s) || !isWordRune(firstRune(s[end:]))
		if okStart && okEnd {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		from = i + size
	}
	return false
}

func isASCIIWord(c rune) bool {
	return c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c))
}

func isWordRune(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' }

func lastRune(s string) rune  { c, _ := utf8.DecodeLastRuneInString(s); return c }
func firstRune(s string) rune { c, _ := utf8.DecodeRuneInString(s); return c }

// askRouter asks the router member to choose, re-asking up to p.Retries times when its reply names no
// allowed member. It returns "" when the router failed or never chose validly.
func askRouter(r *run, p *RouteParams, text string, info *RouteInfo) string {
	var sys strings.Builder
	sys.WriteString(routerPrompt)
	for _, c := range p.Choices {
		fmt.Fprintf(&sys, "\n- %s", c)
		if d := r.description(c); d != "" {
			fmt.Fprintf(&sys, ": %s", d)
		}
	}
	msgs := []chat.Message{{Role: chat.User, Content: text}}
	for ask := 1; ask <= p.Retries+1; ask++ {
		info.Asks = ask
		rep := r.call(step{Member: p.Router, Role: "router", Round: ask, System: sys.String(), Messages: msgs})
		if rep.err != nil {
			return ""
		}
		if c, ok := parseChoice(rep.text, p.Choices); ok {
			return c
		}
		info.Invalid = append(info.Invalid, rep.text)
		msgs = append(msgs,
			chat.Message{Role: chat.Assistant, Content: rep.text},
			chat.Message{Role: chat.User, Content: fmt.Sprintf("%q is not one of the members. Reply with exactly one of: %s.", strings.TrimSpace(rep.text), strings.Join(p.Choices, ", "))})
	}
	return ""
}

// parseChoice finds the member a router's reply names: the whole reply (quotes and punctuation
// aside, any case), or else the only allowed name that occurs in it as a word.
func parseChoice(reply string, choices []string) (string, bool) {
	t := strings.ToLower(strings.Trim(strings.TrimSpace(reply), "\"'`*.!:;,()[] \n"))
	for _, c := range choices {
		if t == strings.ToLower(c) {
			return c, true
		}
	}
	found := ""
	lower := strings.ToLower(reply)
	for _, c := range choices {
		if containsWord(lower, strings.ToLower(c)) {
			if found != "" {
				return "", false
			}
			found = c
		}
	}
	return found, found != ""
}

// ---- vote

// vote samples the members (sample i from member i mod n, seed base+i) in parallel, extracts each
// sample's answer and counts them (see Count). The answer is the first winning sample's reply.
func vote(r *run, p *VoteParams) (outcome, error) {
	base := int64(0)
	switch {
	case p.Seed != nil:
		base = *p.Seed
	case r.req.Sampling.Seed != nil:
		base = *r.req.Sampling.Seed
	}
	steps := make([]step, p.Samples)
	for i := range steps {
		seed := base + int64(i)
		steps[i] = step{Member: r.spec.Members[i%len(r.spec.Members)], Role: "sample", Round: 1, Messages: r.req.Messages, Seed: &seed}
	}
	replies := r.fanOut(steps)
	ballots := make([]Ballot, len(replies))
	for i, rep := range replies {
		ballots[i] = Ballot{Index: i, Member: steps[i].Member, Text: rep.text, Failed: rep.err != nil, Weight: p.Weights[steps[i].Member]}
	}
	t := Count(p.Extract, ballots)
	r.mu.Lock()
	r.tally, r.rounds = &t, 1
	r.mu.Unlock()
	r.publishTally(1, t)
	if t.Winner < 0 {
		for i, rep := range replies {
			if rep.err == nil {
				r.degrade("no sample held a %s answer; the answer is sample %d's reply", p.Extract, i)
				return outcome{answer: rep.text, finish: rep.finish}, nil
			}
		}
		return outcome{}, firstErr(replies)
	}
	w := replies[t.Winner]
	return outcome{answer: w.text, finish: w.finish}, nil
}

// ---- moa

// moa runs Layers layers of proposers in parallel, each layer after the first seeing the previous
// layer's answers, then streams the aggregator's synthesis of the last layer. The aggregator starts as
// soon as the last layer is complete. Failed proposers are left out of what the next stage sees; if
// the aggregator cannot run, the first answer of the last layer stands (partial).
func moa(r *run, p *MoAParams) (outcome, error) {
	base := int64(0)
	switch {
	case p.Seed != nil:
		base = *p.Seed
	case r.req.Sampling.Seed != nil:
		base = *r.req.Sampling.Seed
	}
	var prev []string
	var lastErrs []reply
	for layer := 1; layer <= p.Layers; layer++ {
		var steps []step
		sys := ""
		if layer > 1 {
			sys = aggregatePrompt + "\n\n" + numbered(prev)
		}
		if p.SelfMoA {
			for i := range p.Samples {
				seed := base + int64((layer-1)*p.Samples+i)
				steps = append(steps, step{Member: p.Proposers[0], Role: "proposer", Round: layer, System: sys, Messages: r.req.Messages, Seed: &seed})
			}
		} else {
			for _, name := range p.Proposers {
				steps = append(steps, step{Member: name, Role: "proposer", Round: layer, System: sys, Messages: r.req.Messages})
			}
		}
		replies := r.fanOut(steps)
		var cur []string
		for _, rep := range replies {
			if rep.err == nil {
				cur = append(cur, rep.text)
			}
		}
		r.mu.Lock()
		r.rounds = layer
		r.mu.Unlock()
		r.publishRound(layer, nil, fmt.Sprintf("%d of %d proposers answered", len(cur), len(steps)))
		if len(cur) == 0 {
			lastErrs = replies
			break
		}
		prev = cur
		if r.stopped() != nil {
			break
		}
	}
	if len(prev) == 0 {
		return outcome{}, firstErr(lastErrs)
	}
	out, err := r.final(step{Member: p.Aggregator, Role: "aggregator", Round: p.Layers + 1, System: aggregatePrompt + "\n\n" + numbered(prev), Messages: r.req.Messages})
	if err != nil {
		if r.parent.Err() != nil {
			return outcome{}, err
		}
		r.degrade("the aggregator did not answer; the answer is the first proposer's of the last layer")
		return outcome{answer: prev[0], finish: chat.FinishStop}, nil
	}
	return out, nil
}

// ---- debate

type said struct{ member, text string }

// debate runs rounds in which every debater answers in parallel, from the second round on seeing its
// own previous answer and the others'; it stops early when all debaters' extracted answers agree. A
// moderator then sums up (streaming), or without one a vote over the last answers decides.
func debate(r *run, p *DebateParams) (outcome, error) {
	var history [][]said
	last := map[string]string{}
	var lastReplies []reply
	for round := 1; round <= p.Rounds; round++ {
		steps := make([]step, len(p.Debaters))
		for i, name := range p.Debaters {
			msgs := r.req.Messages
			if round > 1 {
				msgs = append([]chat.Message(nil), msgs...)
				if own, ok := last[name]; ok {
					msgs = append(msgs, chat.Message{Role: chat.Assistant, Content: own})
				}
				var others []string
				for _, s := range history[len(history)-1] {
					if s.member != name {
						others = append(others, fmt.Sprintf("[%s]: %s", r.label(s.member), s.text))
					}
				}
				msgs = append(msgs, chat.Message{Role: chat.User, Content: "The other participants answered:\n\n" +
					strings.Join(others, "\n\n") + "\n\nConsider their arguments and give your updated answer."})
			}
			steps[i] = step{Member: name, Role: "debater", Round: round, Messages: msgs}
		}
		replies := r.fanOut(steps)
		var this []said
		ballots := make([]Ballot, 0, len(replies))
		for i, rep := range replies {
			ballots = append(ballots, Ballot{Index: i, Member: p.Debaters[i], Text: rep.text, Failed: rep.err != nil})
			if rep.err == nil {
				this = append(this, said{p.Debaters[i], rep.text})
				last[p.Debaters[i]] = rep.text
			}
		}
		t := Count(p.Extract, ballots)
		consensus := len(p.Debaters) > 1 && t.Votes == len(p.Debaters) && len(t.Entries) == 1
		msg := ""
		if consensus {
			msg = "consensus"
		}
		r.mu.Lock()
		r.rounds = round
		r.mu.Unlock()
		r.publishRound(round, &t, msg)
		if len(this) > 0 {
			history = append(history, this)
			lastReplies = replies
		}
		if len(this) == 0 || r.stopped() != nil || (consensus && !p.NoEarlyStop) {
			break
		}
	}
	if len(history) == 0 {
		return outcome{}, firstErr(lastReplies)
	}
	if p.Moderator != "" {
		var b strings.Builder
		for i, round := range history {
			fmt.Fprintf(&b, "Round %d\n", i+1)
			for _, s := range round {
				fmt.Fprintf(&b, "[%s]: %s\n\n", r.label(s.member), s.text)
			}
		}
		msgs := append(append([]chat.Message(nil), r.req.Messages...),
			chat.Message{Role: chat.User, Content: "The debate:\n\n" + strings.TrimSpace(b.String()) + "\n\nSum up the debate and conclude."})
		out, err := r.final(step{Member: p.Moderator, Role: "moderator", Round: len(history) + 1, System: moderatorPrompt, Messages: msgs})
		if err == nil || r.parent.Err() != nil {
			return out, err
		}
		r.degrade("the moderator did not answer; a vote over the last round decided")
	}
	final := history[len(history)-1]
	ballots := make([]Ballot, len(final))
	for i, s := range final {
		ballots[i] = Ballot{Index: i, Member: s.member, Text: s.text}
	}
	t := Count(p.Extract, ballots)
	r.mu.Lock()
	r.tally = &t
	r.mu.Unlock()
	r.publishTally(len(history), t)
	if t.Winner < 0 {
		return outcome{answer: final[0].text}, nil
	}
	return outcome{answer: final[t.Winner].text}, nil
}

// ---- review

// Verdict is a reviewer's decision.
type Verdict string

// The verdicts.
const (
	Approved Verdict = "APPROVED"
	Revise   Verdict = "REVISE"
)

var (
	verdictLine  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?im)^[\W_]*verdict[\W_]*(.*)$`) })
	verdictToken = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\b(not\s+approved|approved?|lgtm|accept(?:ed|able)?|revise|revision|needs?\s+(?:work|changes|revision)|rejected|reject|looks\s+good)\b`)
	})
)

// ParseVerdict reads a reviewer's reply: the verdict on its last "Verdict:" line if there is one, else
// the last verdict word in the reply ("APPROVED", "approve", "LGTM", "looks good", "accept" approve;
// "REVISE", "not approved", "needs changes", "reject" ask for a revision). A reply with no verdict
// counts as REVISE with clear false. The critique is the reply without its verdict line.
func ParseVerdict(reply string) (v Verdict, critique string, clear bool) {
	critique = strings.TrimSpace(reply)
	scope := reply
	if lines := verdictLine().FindAllStringSubmatchIndex(reply, -1); len(lines) > 0 {
		l := lines[len(lines)-1]
		if verdictToken().MatchString(reply[l[2]:l[3]]) {
			scope = reply[l[2]:l[3]]
			critique = strings.TrimSpace(reply[:l[0]] + reply[l[1]:])
		}
	}
	toks := verdictToken().FindAllString(scope, -1)
	if len(toks) == 0 {
		return Revise, critique, false
	}
	tok := strings.ToLower(strings.Join(strings.Fields(toks[len(toks)-1]), " "))
	switch {
	case strings.HasPrefix(tok, "approve"), tok == "lgtm", strings.HasPrefix(tok, "accept"), tok == "looks good":
		return Approved, critique, true
	}
	return Revise, critique, true
}

// review has the generator draft an answer, then up to Rounds times has the reviewer critique it and,
// unless it approves, the reviser rewrite it with the critique. The answer is the last draft; Result
// says whether it was approved.
func review(r *run, p *ReviewParams) (outcome, error) {
	gen := r.call(step{Member: p.Generator, Role: "generator", Messages: r.req.Messages})
	if gen.err != nil {
		return outcome{}, gen.err
	}
	draft, finish := gen.text, gen.finish
	question := lastUser(r.req.Messages)
	approved := false
	for round := 1; round <= p.Rounds; round++ {
		r.mu.Lock()
		r.rounds = round
		r.mu.Unlock()
		rev := r.call(step{Member: p.Reviewer, Role: "reviewer", Round: round, System: reviewerPrompt, Messages: []chat.Message{{
			Role: chat.User, Content: "Question:\n" + question + "\n\nDraft answer:\n" + draft + "\n\nReview the draft."}}})
		if rev.err != nil {
			r.degrade("draft %d was not reviewed", round)
			break
		}
		v, critique, clear := ParseVerdict(rev.text)
		note := string(v)
		if !clear {
			note += " (no verdict found; treated as REVISE)"
		}
		r.publishRound(round, nil, note)
		if v == Approved {
			approved = true
			break
		}
		msgs := append(append([]chat.Message(nil), r.req.Messages...),
			chat.Message{Role: chat.Assistant, Content: draft},
			chat.Message{Role: chat.User, Content: "A reviewer critiqued your answer:\n\n" + critique + "\n\nRewrite your answer to address the critique. Reply with the revised answer only."})
		fix := r.call(step{Member: p.Reviser, Role: "reviser", Round: round, Messages: msgs})
		if fix.err != nil {
			r.degrade("draft %d was not revised after its review", round)
			break
		}
		draft, finish = fix.text, fix.finish
	}
	r.mu.Lock()
	r.approved = &approved
	r.mu.Unlock()
	return outcome{answer: draft, finish: finish}, nil
}
