#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, and the test suite (unit tests and
# end-to-end tests with real Python). Needs cargo and python3 (>= 3.8) on PATH.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v python3 >/dev/null; then
  echo "test.sh: python3 is needed for the end-to-end tests" >&2
  exit 1
fi
scripts/lint_workflows.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
# The HTML report rendered in headless Chromium (Debian's `chromium`), when present.
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
  python3 scripts/check_html_render.py
else
  echo "test.sh: skipped the HTML render check: chromium not installed (apt-get install chromium)"
fi
