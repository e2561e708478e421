package memorytest

import (
	"context"
	"strings"
	"testing"

	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/testenv"
)

// KoreanQueries is a small retrieval test set written by hand from the Korean seed essays
// (../shared/corpus/seeds): each query is phrased differently from the text (particles, word order,
// paraphrase), and Want is a passage that the chunk it should find contains.
var KoreanQueries = []struct{ Query, Want string }{
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

// testKorean ingests the Korean seed essays and requires SearchText to reach recall@5 ≥ 0.8 on
// KoreanQueries (the embedded store measures 1.000) and every target passage it finds to pass the
// relevance gate.
func testKorean(t *testing.T, s full) {
	ctx := context.Background()
	if _, err := memory.Ingest(ctx, s, []string{testenv.Shared(t, "corpus", "seeds")}, memory.Options{}); err != nil {
		t.Fatal(err)
	}
	var r5, mrr float64
	for _, kq := range KoreanQueries {
		hits, err := s.SearchText(ctx, kq.Query, 10)
		if err != nil {
			t.Fatal(err)
		}
		rank := 0
		for j, h := range hits {
			if strings.Contains(h.Chunk.Text, kq.Want) {
				if h.Coverage < memory.DefaultMinCoverage {
					t.Errorf("%q: the right passage has coverage %.2f, below the gate %.2f", kq.Query, h.Coverage, memory.DefaultMinCoverage)
				}
				if rank == 0 {
					rank = j + 1
				}
			}
		}
		if rank > 0 && rank <= 5 {
			r5++
		}
		if rank > 0 {
			mrr += 1 / float64(rank)
		}
	}
	n := float64(len(KoreanQueries))
	t.Logf("SearchText on the Korean seeds: recall@5 %.3f, MRR@10 %.3f", r5/n, mrr/n)
	if r5/n < 0.8 {
		t.Errorf("recall@5 = %.3f, want ≥ 0.8", r5/n)
	}
}
