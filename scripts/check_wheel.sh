#!/usr/bin/env bash
# Checks a built memreg wheel as a user meets it. Installs it from DIST (no package
# index) into a fresh virtualenv and, without activating the virtualenv, checks that
#  - `venv/bin/memreg --version` is Cargo.toml's version, and so is the wheel's;
#  - the metadata PyPI shows: summary (Cargo.toml's description), license, Python
#    requirement, the README as description, project URLs, classifiers;
#  - a scenario runs with the virtualenv's interpreter (asserted from inside it), and
#    the banner names it and the rule that chose it;
#  - the example scenarios' leak checks pass: `venv/bin/memreg run scenarios/`.
# Used by scripts/test_packaging.sh (on the wheel test.sh builds) and by the release
# workflow (on each built wheel, on its own platform).
#
# Usage: scripts/check_wheel.sh DIST     (python3 on PATH makes the virtualenv)
set -euo pipefail
cd "$(dirname "$0")/.."
dist=$(cd "${1:?usage: check_wheel.sh DIST}" && pwd)
say() { echo "check_wheel: $*"; }
fail() {
  say "FAILED: $*"
  exit 1
}
cargo_field() { sed -n "/^\[package\]/,/^\[/s/^$1 *= *\"\(.*\)\"/\1/p" Cargo.toml | head -n 1; }
version=$(cargo_field version)
work=$(cd "$(mktemp -d)" && pwd -P) # canonical: macOS's temp dir is a symlink
trap 'rm -rf "$work"' EXIT
unset VIRTUAL_ENV

python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index \
  --find-links "$dist" memreg
shown=$("$work/venv/bin/memreg" --version)
[ "$shown" = "memreg $version" ] || fail "venv/bin/memreg --version says '$shown'; Cargo.toml says $version"
"$work/venv/bin/python" - "$version" "$(cargo_field description)" <<'EOF' || fail "the wheel's metadata"
import importlib.metadata as m, sys
version, description = sys.argv[1:]
meta = m.metadata("memreg")
norm = lambda v: v.replace("-", "").replace(".", "").replace("_", "")
assert norm(m.version("memreg")) == norm(version), (m.version("memreg"), version)
assert meta["Summary"] == description, meta["Summary"]
assert meta["License-Expression"] == "MIT OR Apache-2.0", meta["License-Expression"]
assert meta["Requires-Python"] == ">=3.8", meta["Requires-Python"]
assert meta["Description-Content-Type"].startswith("text/markdown"), meta["Description-Content-Type"]
assert "pip install memreg" in meta.get_payload(), "the README is the long description"
assert len(meta.get_all("Project-URL")) >= 2, meta.get_all("Project-URL")
assert len(meta.get_all("Classifier")) >= 5, meta.get_all("Classifier")
EOF

mkdir -p "$work/s"
cat > "$work/s/which.yaml" <<EOF
name: which-python
setup: |
  import os, sys
  assert os.path.realpath(sys.prefix) == os.path.realpath("$work/venv"), sys.prefix
run: pass
iterations: 16
warmup: 0
processes: 2
EOF
(cd "$work" && "$work/venv/bin/memreg" run s > "$work/run.out" 2>&1) || {
  cat "$work/run.out"
  fail "venv/bin/memreg run: the scenario did not run with the virtualenv's python"
}
grep -qF "($work/venv/bin/python, chosen by memreg's own environment)" "$work/run.out" || {
  cat "$work/run.out"
  fail "the banner does not name the virtualenv's python and the rule that chose it"
}
# The leak checks only: baselines/ holds figures of another environment (what the
# interpreter imports at start-up moves held memory, and a fresh virtualenv imports
# less than a system Python with site-packages .pth files).
mkdir -p "$work/no-baselines"
"$work/venv/bin/memreg" run scenarios/ --baselines "$work/no-baselines" > "$work/examples.out" 2>&1 || {
  cat "$work/examples.out"
  fail "venv/bin/memreg run scenarios/"
}
say "$(cd "$dist" && ls memreg-*.whl | head -n 1): installs; --version and metadata agree with Cargo.toml;"
say "  runs scenarios with the virtualenv's python without activation; the examples' leak checks pass"
