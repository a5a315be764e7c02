#!/usr/bin/env bash
# Differential run of `ferry template` against Helm v4.2.3 on the development corpus of real
# charts (../shared/reference/dev-corpus.yaml). Never commit the extracted charts.
#
# Usage: scripts/corpus.sh MIRROR_ROOT OUT_DIR [--filter SUBSTR]
#   MIRROR_ROOT  bare git mirrors, one per repository (<owner>+<name>/repo), e.g. /work/.mirror
#   OUT_DIR      where the charts are extracted (outside the repository), e.g. /work/corpus
# Environment: FERRY_BIN (default $CARGO_TARGET_DIR/debug/ferry), FERRY_VENV (Python venv with
#   helm-python-sdk), CORPUS_MANIFEST, EXTRACT_CHARTS (paths of the manifest and the extractor).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
mirror=$1
out=$2
shift 2
manifest=${CORPUS_MANIFEST:-$root/../shared/reference/dev-corpus.yaml}
extract=${EXTRACT_CHARTS:-$root/../shared/tools/extract-charts}
venv=${FERRY_VENV:-$HOME/.cache/ferry/venv}
ferry=${FERRY_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}/debug/ferry}
case "$(cd "$(dirname "$out")" 2>/dev/null && pwd)/" in
  "$root"/*) echo "corpus.sh: OUT_DIR must be outside the repository" >&2; exit 2 ;;
esac
[ -x "$ferry" ] || { echo "corpus.sh: ferry binary not found at $ferry (set FERRY_BIN)" >&2; exit 2; }
[ -x "$venv/bin/python" ] || { echo "corpus.sh: no Python venv at $venv (set FERRY_VENV)" >&2; exit 2; }
"$venv/bin/python" "$extract" "$manifest" "$mirror" "$out" >&2 || echo "corpus.sh: some charts failed to extract" >&2
export TZ=UTC
exec "$venv/bin/python" "$root/tests/difftest/run.py" --ferry "$ferry" --corpus "$manifest" \
  --charts "$out" --values-dir "$(dirname "$manifest")/dev-values" "$@"
