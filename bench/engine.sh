#!/usr/bin/env bash
# Measures the embedded engine on a random-weight Q8_0 GGUF with the shape of SmolLM2-135M
# (written once by bench/ggufgen into the temp folder) with 2 threads, and prints the figures
# docs/BENCHMARKS.md reports: prompt tokens/s, generation tokens/s, weight bytes streamed per second
# while generating, the read bandwidth probed in the same run, and their ratio.
#   bash bench/engine.sh [iterations]      (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5}
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(uname -r), $(go version | cut -d' ' -f3)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for cache in half f32; do
  echo "== KV cache: $cache"
  SEANCE_BENCH_CACHE=$cache go test -run '^$' -bench 'SmolLM2Q8$' -benchtime "${n}x" -count 1 ./internal/engine/ | grep -E '^Benchmark'
done
