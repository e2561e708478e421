#!/usr/bin/env bash
# Runs the benchmarks docs/BENCHMARKS.md reports, one after another (run it on a quiet machine),
# and writes each one's output to bench/out/NAME.txt.
#   bash bench/all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
run() {
  local name=$1; shift
  echo "== $name: $*"
  "$@" 2>&1 | tee "bench/out/$name.txt" | grep -E '^(Benchmark|machine|load|==)' || true
}
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(uname -r), $(go version | cut -d' ' -f3); load $(cut -d' ' -f1-3 /proc/loadavg)"
run engine bash bench/engine.sh 5
run decode go test -run '^$' -bench 'Decode|Prefill' -benchtime 20x ./internal/engine/llama/
run kernels go test -run '^$' -bench 'MatVec/|ReadBandwidth' -benchtime 1s ./internal/engine/tensor/
run tokenizer go test -run '^$' -bench . -benchtime 20x ./internal/engine/tokenizer/
run sampler go test -run '^$' -bench . -benchtime 200x ./internal/engine/sample/
run team go test -run '^$' -bench . -benchtime 3s ./internal/team/
run sandbox go test -run '^$' -bench 'RunTrue|ExecTrue' -benchtime 300x ./internal/sandbox/
run memory go test -run '^$' -bench . -benchtime 20x ./internal/memory/sqlite/
run uselite go test -run '^$' -bench . -benchtime 10x ./internal/memory/uselite/
run vecindex go test -run '^$' -bench 'Exact|IVF' -benchtime 50x ./internal/memory/vecindex/
run graph go test -run '^$' -bench ExtractRules -benchtime 20x ./internal/memory/
