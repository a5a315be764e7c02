#!/usr/bin/env bash
# Runs every test of ferry from a fresh clone: installs what the tests need (Debian packages,
# a Python venv with the real Helm v4 engine and sops), then format, lint, unit and
# integration tests, and the differential suites against the real tools.
#
# Environment:
#   CARGO_TARGET_DIR  build directory (default: $HOME/.cache/ferry/target, outside the clone)
#   FERRY_VENV        Python venv for the oracles (default: $HOME/.cache/ferry/venv)
#   FERRY_SKIP_LINT=1 skip fmt/clippy (for quick local runs)
#   CARGO_INCREMENTAL default 0 here (a fresh clone gains nothing from incremental caches)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ferry/target}
export FERRY_VENV=${FERRY_VENV:-$HOME/.cache/ferry/venv}
export TZ=UTC
# Incremental caches double the target dir and do not pay off on a fresh clone.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

step() { printf '\n=== %s\n' "$*"; }

step "system packages"
need=()
command -v age-keygen >/dev/null || need+=(age)
command -v gpg >/dev/null || need+=(gnupg)
command -v git >/dev/null || need+=(git)
command -v envsubst >/dev/null || need+=(gettext-base)
if ! command -v kubectl >/dev/null; then
  echo "kubectl (v1.32) is required by the embedded-cluster tests and is not on PATH" >&2
  exit 1
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

step "python venv ($FERRY_VENV)"
if [ ! -x "$FERRY_VENV/bin/python" ]; then
  python3 -m venv "$FERRY_VENV"
fi
"$FERRY_VENV/bin/pip" install -q -r "$root/scripts/requirements.txt"
export PATH="$FERRY_VENV/bin:$PATH"

if [ "${FERRY_SKIP_LINT:-0}" != 1 ]; then
  step "cargo fmt --check"
  cargo fmt --all -- --check
  step "cargo clippy"
  cargo clippy --workspace --all-targets -q -- -D warnings
fi

step "cargo build"
cargo build --workspace --bins -q
export FERRY_BIN="$CARGO_TARGET_DIR/debug/ferry"

step "cargo test"
cargo test --workspace --no-fail-fast -q

step "differential template suite (ferry vs Helm v4 engine)"
"$FERRY_VENV/bin/python" tests/difftest/run.py --ferry "$FERRY_BIN"

echo
du -sh "$CARGO_TARGET_DIR" 2>/dev/null || true
echo "all tests passed"
