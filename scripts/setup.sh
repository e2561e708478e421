#!/usr/bin/env bash
# Sets up seance on a fresh machine and runs the main job on the embedded default model:
# downloads the Go modules, builds bin/seance (pure Go, CGO_ENABLED=0), places the default model in
# ~/.seance/models, and asks it to continue "Once upon a time" with greedy decoding.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null; then
  echo "error: Go 1.26 or newer is needed (https://go.dev/dl/)" >&2
  exit 1
fi
go mod download
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-X github.com/seance-dev/seance/internal/cli.Version=$version -X github.com/seance-dev/seance/internal/cli.Commit=$commit" \
  -o bin/seance ./cmd/seance
echo "built bin/seance ($(bin/seance version))"
bash scripts/get-default-model.sh
echo
echo '$ bin/seance ask --temperature 0 --max-tokens 64 "Once upon a time"'
bin/seance ask --temperature 0 --max-tokens 64 "Once upon a time"
