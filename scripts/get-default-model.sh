#!/usr/bin/env bash
# Places seance's embedded default model (stories260K, a 0.26M-parameter llama-architecture
# TinyStories model) where seance looks for it: $SEANCE_HOME/models (default ~/.seance/models).
#
# 1. If ../shared/models/stories260K (beside the repository) holds the prepared GGUF, copy it.
# 2. Otherwise download Karpathy's published llama2.c files from the Hugging Face repository
#    karpathy/tinyllamas (folder stories260K/) and convert them with `seance convert llama2c`.
#    The conversion is exact: tests check it tensor by tensor against llama.cpp's converter output.
set -euo pipefail
cd "$(dirname "$0")/.."
seance=${SEANCE_BIN:-bin/seance}
home=${SEANCE_HOME:-$HOME/.seance}
dest="$home/models/stories260K-f32.gguf"
want_sha=047bf46455a544931cff6fef14d7910154c56afbc23ab1c5e56a72e69912c04b
mkdir -p "$home/models"

if [ -s "$dest" ]; then
  echo "default model present: $dest"
  exit 0
fi
shared=../shared/models/stories260K
if [ -f "$shared/stories260K-f32.gguf" ]; then
  cp "$shared/stories260K-f32.gguf" "$dest.tmp"
  got=$(sha256sum "$dest.tmp" | cut -d' ' -f1)
  if [ "$got" != "$want_sha" ]; then
    rm -f "$dest.tmp"
    echo "error: $shared/stories260K-f32.gguf has sha256 $got, expected $want_sha" >&2
    exit 1
  fi
  mv "$dest.tmp" "$dest"
  echo "default model copied from $shared to $dest"
  exit 0
fi

echo "no prepared model beside the repository; downloading the llama2.c files from Hugging Face"
base=https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in stories260K.bin tok512.bin; do
  if ! curl -fL --retry 3 -o "$tmp/$f" "$base/$f"; then
    cat >&2 <<MSG
error: could not download $base/$f
Get the two files stories260K.bin and tok512.bin from the Hugging Face repository
karpathy/tinyllamas (folder stories260K/) by any means, then run:
  $seance convert llama2c -o $dest stories260K.bin tok512.bin
MSG
    exit 1
  fi
done
"$seance" convert llama2c -o "$dest" -name stories260K "$tmp/stories260K.bin" "$tmp/tok512.bin"
echo "default model converted to $dest"
