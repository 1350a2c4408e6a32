#!/usr/bin/env bash
# The one command that runs every check of the project on a fresh machine:
# formatting, lints, the Rust unit/integration tests, then the end-to-end
# suite (tests/e2e) against the release binary. Extra arguments go to pytest,
# e.g. `scripts/test.sh -k invoke_python`.
set -euo pipefail

cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --release
cargo test --workspace

# The e2e suite tests the binary cargo just built, wherever the target dir is.
target_dir="${CARGO_TARGET_DIR:-target}"
export EDDY_BIN="${EDDY_BIN:-$(cd "$target_dir" && pwd)/release/eddy}"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r tests/e2e/requirements.txt

.venv/bin/python -m pytest tests/e2e -q -x --timeout 300 "$@"
