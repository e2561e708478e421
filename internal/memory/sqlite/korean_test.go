package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/seance-dev/seance/internal/memory"
)

// koreanQueries is a small retrieval test set written by hand from the Korean seed essays: each
// query is phrased differently from the text (particles, word order, paraphrase), and want is a
// passage that the chunk it should find contains.
var koreanQueries = []struct{ query, want string }{
	{"뇌의 시냅스 규모와 거대 모델의 필요성", "100T(100조) 시냅스"},
	{"파이썬으로 파일을 지워버리는 문제", "파이썬 코드를 짜서"},
	{"보상 해킹이란 무엇인가", "바로 보상 해킹입니다"},
	{"모델끼리 지식을 전이하며 경쟁하는 다양성", "모델들끼리 서로 지식을 전이하고"},
	{"불완전한 검증 가능 보상이라는 병목", "가장 큰 병목은 검증 가능한 보상이"},
	{"공리주의 모델과 아나키즘 모델의 경쟁", "공리주의자 모델과 공산주의자 모델"},
	{"유령 테마의 밈 코인 GHOST", "Ghost Coin(GHOST)"},
	{"Sutton 에세이 Bitter Lesson과 계산 자원", "The Bitter Lesson\"을 되새기며"},
	{"동물의 뇌는 진화로 미리 배선되어 있다", "진화에 의해 미리 배선되어"},
	{"Dogecoin PEPE 농담에서 시작한 토큰 시장", "Dogecoin이나 PEPE"},
	{"GPT-4 훈련에 쓰인 부동소수점 연산 추정치", "2×10<sup>25</sup> 16비트 FLOP"},
	{"인간의 텍스트 처리 속도에 맞먹는 추론 연산량", "초당 얼마나 많은 연산 속도"},
	{"사고의 연쇄 프롬프팅 기법과 재훈련", "*사고의 연쇄*와 관련 프롬프팅 기법들"},
	{"GPQA 벤치마크에서 o1 o3 점수", "GPQA Diamond Benchmark"},
	{"CPU 클럭 속도와 비행기 속도가 멈춘 예시", "2000년대의 CPU 클럭 속도"},
	{"합성 데이터가 만능 해결책일까", "합성 데이터(synthetic data)는 종종"},
	{"알파고가 바둑 챔피언을 이긴 합성 데이터의 성공", "2016년 바둑 세계 챔피언을 꺾은"},
	{"스마트폰 같은 엣지 기기에서 작은 모델 구동", "엣지 디바이스(edge devices)"},
	{"탈로스 신화와 안드로이드", "탈로스는 그 당시에 충족할 수 없는 기술"},
	{"로봇이 인간 명령에 복종해야 하는 원칙", "로봇은 인간의 명령에 복종하여야 한다"},
	{"영국을 떠나본 적 없는 사람처럼 행동하라는 프롬프트", "영국을 떠난적 없는 것 처럼"},
	{"PPO 근접 정책 최적화 단계", "Proximal Policy Optimization"},
	{"블로그에 기록한 영화 개수", "1,200개를 넘었기"},
	{"분서가 죄악인 이유와 후대의 학습", "분서(焚書)가 죄악처럼"},
}

// rawTokens splits a query at everything that is not a letter or digit, as unicode61 does.
func rawTokens(q string) []string {
	return strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

func orQuery(tokens []string) string {
	var quoted []string
	for _, t := range tokens {
		quoted = append(quoted, `"`+strings.ReplaceAll(t, `"`, `""`)+`"`)
	}
	return strings.Join(quoted, " OR ")
}

// TestKoreanRetrieval compares tokenisations for Korean full-text search on the seed essays:
// FTS5's unicode61 and trigram tokenisers over the raw text against memory.Terms (stems with
// particles stripped plus character bigrams) ranked by this store's BM25, and requires the chosen
// one to be at least as good as the others and to reach recall@5 ≥ 0.8.
func TestKoreanRetrieval(t *testing.T) {
	ctx := context.Background()
	seeds := filepath.Join(sharedDir(t), "corpus", "seeds")
	s, err := Open(ctx, filepath.Join(t.TempDir(), "memory.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := memory.Ingest(ctx, s, []string{seeds}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE VIRTUAL TABLE raw61 USING fts5(text, tokenize = 'unicode61')`,
		`INSERT INTO raw61 (rowid, text) SELECT id, text FROM chunks`,
		`CREATE VIRTUAL TABLE rawtri USING fts5(text, tokenize = 'trigram')`,
		`INSERT INTO rawtri (rowid, text) SELECT id, text FROM chunks`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ftsSearch := func(table string, tokens []string) ([]int64, error) {
		if len(tokens) == 0 {
			return nil, nil
		}
		return s.ids(ctx, `SELECT rowid FROM `+table+` WHERE `+table+` MATCH ? ORDER BY bm25(`+table+`) LIMIT 10`, orQuery(tokens))
	}
	systems := []struct {
		name   string
		search func(q string) ([]int64, error)
	}{
		{"unicode61 (raw text, fts5 bm25)", func(q string) ([]int64, error) { return ftsSearch("raw61", rawTokens(q)) }},
		{"trigram (raw text, fts5 bm25)", func(q string) ([]int64, error) {
			var long []string
			for _, tok := range rawTokens(q) {
				if len([]rune(tok)) >= 3 {
					long = append(long, tok)
				}
			}
			return ftsSearch("rawtri", long)
		}},
		{"memory.Terms (fts5 bm25)", func(q string) ([]int64, error) { return s.searchFTS5(ctx, q, 10) }},
		{"memory.Terms (SearchText bm25)", func(q string) ([]int64, error) {
			hits, err := s.SearchText(ctx, q, 10)
			ids := make([]int64, len(hits))
			for i, h := range hits {
				ids[i] = h.Chunk.ID
			}
			return ids, err
		}},
	}
	texts := map[int64]string{}
	rows, err := s.db.QueryContext(ctx, `SELECT id, text FROM chunks`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			t.Fatal(err)
		}
		texts[id] = text
	}
	rows.Close()
	recall := make([]float64, len(systems))
	for i, sys := range systems {
		var r5, mrr float64
		for _, kq := range koreanQueries {
			ids, err := sys.search(kq.query)
			if err != nil {
				t.Fatalf("%s: %q: %v", sys.name, kq.query, err)
			}
			rank := 0
			for j, id := range ids {
				if strings.Contains(texts[id], kq.want) {
					rank = j + 1
					break
				}
			}
			if rank > 0 && rank <= 5 {
				r5++
			}
			if rank > 0 {
				mrr += 1 / float64(rank)
			}
			if testing.Verbose() && i == len(systems)-1 && (rank == 0 || rank > 5) {
				t.Logf("  missed: %q (rank %d)", kq.query, rank)
			}
		}
		n := float64(len(koreanQueries))
		recall[i] = r5 / n
		t.Logf("%-32s recall@5 %.3f  MRR@10 %.3f", sys.name, r5/n, mrr/n)
	}
	// Every target passage found by SearchText must pass the relevance gate.
	for _, kq := range koreanQueries {
		hits, err := s.SearchText(ctx, kq.query, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if strings.Contains(h.Chunk.Text, kq.want) && h.Coverage < memory.DefaultMinCoverage {
				t.Errorf("%q: the right passage has coverage %.2f, below the gate %.2f", kq.query, h.Coverage, memory.DefaultMinCoverage)
			}
		}
	}
	chosen := recall[len(recall)-1]
	for i, r := range recall[:len(recall)-1] {
		if r > chosen {
			t.Errorf("%s recalls more (%.3f) than the chosen analysis (%.3f)", systems[i].name, r, chosen)
		}
	}
	if chosen < 0.8 {
		t.Errorf("recall@5 = %.3f, want ≥ 0.8", chosen)
	}
}
