#!/usr/bin/env bash
# Runs seance's whole test suite: formatting, vet, every test with the race detector (including the
# stories260K golden test and the openai-go / Node client tests against the real server), and short
# runs of the fuzz targets. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
fuzztime=${FUZZTIME:-10s}

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...

if [ -f internal/httpapi/testdata/node/package-lock.json ] && command -v npm >/dev/null; then
  echo "== npm ci (Node client test)"
  (cd internal/httpapi/testdata/node && npm ci --no-audit --no-fund --loglevel=error)
fi

# Two passes: every test with the race detector, the slow evaluations (SciFact, the full red-team
# controls, every MBPP task...) skipped by -short; then every test, slow ones included, without it.
echo "== go test -race -short"
go test -race -short -count=1 -timeout 30m ./...
echo "== go test (full)"
go test -count=1 -timeout 30m ./...

echo "== CGO_ENABLED=0 build"
CGO_ENABLED=0 go build -o /dev/null ./cmd/seance

# fuzz_once runs one fuzz target. Go's fuzzer sometimes reports "context deadline exceeded" when
# -fuzztime ends while it is still minimising a new interesting input; that is the toolchain's timer,
# not a finding (a real failure writes "Failing input written to testdata/fuzz/..."), so such a run
# is tried once more and then reported as a warning.
fuzz_once() {
  local out
  for attempt in 1 2; do
    if out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "./$1" 2>&1); then
      echo "$out" | tail -2
      return 0
    fi
    if echo "$out" | grep -q 'Failing input' || ! echo "$out" | grep -q 'context deadline exceeded'; then
      echo "$out"
      return 1
    fi
    echo "   (the fuzzer's timer ran out while minimising, attempt $attempt)"
  done
  echo "   warning: $1 $2 ended twice on the fuzzer's timer without a failing input"
}

echo "== fuzz targets ($fuzztime each)"
for target in $(grep -rl --include='*_test.go' '^func Fuzz' internal | xargs -n1 dirname | sort -u); do
  for f in $(grep -h '^func Fuzz' "$target"/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
    echo "-- $target $f"
    fuzz_once "$target" "$f"
  done
done
echo "all checks passed in $((SECONDS - start))s"
