#!/usr/bin/env bash
# memreg as users install it, end to end (run by test.sh after `cargo build`):
#
#  1. the wheel: maturin builds it (the dev profile, so it reuses test.sh's cargo build:
#     seconds, not the minutes of a release build), and scripts/check_wheel.sh installs it
#     into a fresh virtualenv and runs venv/bin/memreg without activating the virtualenv:
#     the version, the metadata, the virtualenv's interpreter, the example scenarios;
#  2. the GitHub action's install.sh: the wheel path (pip --find-links on a local wheel
#     directory, no index), the fallback to a source build when no wheel fits (a fake
#     cargo on PATH stands in for the real release build, which takes minutes), and what
#     it refuses;
#  3. the action's run.sh: block-list and space-separated inputs, counts and report paths
#     as outputs, the HTML report, the step summary, memreg's exit code;
#  4. memreg installed by uv as users do (offline, from the wheel): `uv tool install` and
#     uvx keep memreg in an environment of its own, so it must not run scenarios there;
#     a virtualenv made by `uv venv` is the user's, so it must.
#
# maturin and uv come from PyPI into target/packaging-venv (kept between runs). Where
# PyPI is out of reach this test is skipped, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
tools=$repo/target/packaging-venv
act=$repo/.github/actions/memreg

say() { echo "test_packaging: $*"; }
fail() {
  say "FAILED: $*"
  exit 1
}
# The [package] field $1 of Cargo.toml.
cargo_field() { sed -n "/^\[package\]/,/^\[/s/^$1 *= *\"\(.*\)\"/\1/p" Cargo.toml | head -n 1; }
# The value of output $1 in the GITHUB_OUTPUT file $2.
output() { sed -n "s/^$1=//p" "$2" | tail -n 1; }

started=$(date +%s)
if [ ! -x "$tools/bin/maturin" ] || [ ! -x "$tools/bin/uv" ]; then
  say "installing maturin and uv from PyPI into $tools (first run only)"
  [ -x "$tools/bin/pip" ] || python3 -m venv "$tools"
  if ! "$tools/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" uv \
    > target/packaging-pip.log 2>&1; then
    say "SKIPPED: maturin and uv could not be installed from PyPI into $tools (see target/packaging-pip.log):"
    say "the wheel, the action's install.sh and run.sh, and uv's installs were not tested"
    exit 0
  fi
fi
work=$(cd "$(mktemp -d)" && pwd -P) # canonical: macOS's temp dir is a symlink
trap 'rm -rf "$work"' EXIT
unset VIRTUAL_ENV
version=$(cargo_field version)

# 1. The wheel, installed into a fresh virtualenv and run from it without activation.
"$tools/bin/maturin" build --quiet --locked --profile dev --compression-method stored \
  --out "$work/dist" > "$work/maturin.log" 2>&1 || {
  cat "$work/maturin.log"
  fail "maturin build"
}
scripts/check_wheel.sh "$work/dist"

# 2. The action's install.sh. `python3 -m pip` there is the tools venv's (pip is sure).
export PATH="$tools/bin:$PATH" PIP_NO_INDEX=1 RUNNER_TEMP="$work/runner"
mkdir -p "$work/empty" "$work/runner"
act_install() { # install.sh plan and wheel, and source when no wheel was installed
  local out=$1
  shift
  : > "$out"
  env GITHUB_OUTPUT="$out" "$@" "$act/install.sh" plan &&
    env GITHUB_OUTPUT="$out" "$@" "$act/install.sh" wheel &&
    if [ "$(output installed "$out")" != true ]; then
      env GITHUB_OUTPUT="$out" "$@" "$act/install.sh" source
    fi
}

# The wheel path; find-links as a block list.
act_install "$work/o1" MEMREG_ROOT="$work/a1" MEMREG_FIND_LINKS=$'\n'"$work/empty"$'\n'"$work/dist"$'\n' \
  > "$work/log1" 2>&1 || { cat "$work/log1"; fail "install.sh with a wheel"; }
[ "$(output method "$work/o1")" = wheel ] || { cat "$work/log1"; fail "the wheel path was not taken"; }
grep -q "installed from its wheel with pip" "$work/log1" || fail "install.sh does not say it used the wheel"
memreg=$(output memreg "$work/o1")
[ "$("$memreg" --version)" = "memreg $version" ] || fail "the action's memreg is not $version"
[ "$(output version "$work/o1")" = "$version" ] || fail "version output"

# No wheel fits: the source build, with a fake cargo standing in for the real one.
mkdir -p "$work/fakebin"
cat > "$work/fakebin/cargo" <<'EOF'
#!/bin/sh
# Stands in for `cargo build ... --target-dir DIR`: records its arguments, "builds" by copying.
echo "$@" > "$FAKE_CARGO_ARGS"
while [ $# -gt 0 ]; do
  if [ "$1" = --target-dir ]; then dir=$2; fi
  shift
done
mkdir -p "$dir/release" && cp "$FAKE_CARGO_BUILDS" "$dir/release/memreg"
EOF
chmod +x "$work/fakebin/cargo"
act_install "$work/o2" MEMREG_ROOT="$work/a2" MEMREG_FIND_LINKS="$work/empty" PATH="$work/fakebin:$PATH" \
  FAKE_CARGO_ARGS="$work/cargo-args" FAKE_CARGO_BUILDS="$repo/target/debug/memreg" \
  > "$work/log2" 2>&1 || { cat "$work/log2"; fail "install.sh without a wheel"; }
[ "$(output method "$work/o2")" = source ] || { cat "$work/log2"; fail "the source path was not taken"; }
grep -q "no memreg $version wheel fits this runner" "$work/log2" || fail "install.sh does not say no wheel fits"
grep -q "building memreg $version from the action's source with cargo" "$work/log2" || fail "no word of the source build"
grep -q -- "build --release --locked --quiet --manifest-path $repo/Cargo.toml --target-dir $work/a2/target" \
  "$work/cargo-args" || fail "cargo was called with $(cat "$work/cargo-args")"
[ "$("$(output memreg "$work/o2")" --version)" = "memreg $version" ] || fail "the source-built memreg"

# What it refuses: no wheel under install: wheel; a version the action's source is not.
if act_install "$work/o3" MEMREG_ROOT="$work/a3" MEMREG_FIND_LINKS="$work/empty" MEMREG_INSTALL=wheel \
  > "$work/log3" 2>&1; then fail "install: wheel without a wheel succeeded"; fi
grep -q "::error title=memreg install::install: wheel, and no memreg $version wheel" "$work/log3" ||
  { cat "$work/log3"; fail "install: wheel's error"; }
if act_install "$work/o4" MEMREG_ROOT="$work/a4" MEMREG_FIND_LINKS="$work/empty" MEMREG_VERSION=v99.0.0 \
  PATH="$work/fakebin:$PATH" > "$work/log4" 2>&1; then fail "a version without a wheel was built from other source"; fi
grep -q "no wheel of memreg 99.0.0 fits this runner, and this action's source is memreg $version" "$work/log4" ||
  { cat "$work/log4"; fail "the version mismatch's error"; }
act_install "$work/o5" MEMREG_ROOT="$work/a5" MEMREG_FIND_LINKS="$work/dist" MEMREG_INSTALL=source \
  PATH="$work/fakebin:$PATH" FAKE_CARGO_ARGS="$work/cargo-args" FAKE_CARGO_BUILDS="$repo/target/debug/memreg" \
  > "$work/log5" 2>&1 || { cat "$work/log5"; fail "install: source"; }
[ "$(output method "$work/o5")" = source ] || fail "install: source took the wheel"
say "action install.sh: wheel path, source fallback (fake cargo), refusals"

# 3. The action's run.sh: a block list with a space in a path, a comment and a blank line.
mkdir -p "$work/proj/scen dir"
fast=$'iterations: 400\nwarmup: 50\n'
printf 'name: a\nrun: pass\n%s' "$fast" > "$work/proj/scen dir/a.yaml"
printf 'name: b\nsetup: import json\nrun: json.dumps([1])\n%s' "$fast" > "$work/proj/b.yaml"
printf 'name: c\nsetup: L = []\nrun: L.append(None)\n%s' "$fast" > "$work/proj/c.yaml"
act_run() { # run.sh in the project directory with these variables; prints its exit code
  local out=$1
  shift
  : > "$out"
  (cd "$work/proj" && env GITHUB_OUTPUT="$out" GITHUB_STEP_SUMMARY="$work/summary.md" MEMREG="$memreg" \
    MEMREG_JUNIT=j.xml MEMREG_JSON=r.json "$@" "$act/run.sh" > "$out.log" 2>&1) && echo 0 || echo $?
}
code=$(act_run "$work/r1" MEMREG_PATHS=$'scen dir/a.yaml\n# the next one\n\n  b.yaml  \n' \
  MEMREG_ARGS=$'--jobs 2\n--no-attribution' MEMREG_HTML=out/report.html)
[ "$code" = 0 ] || { cat "$work/r1.log"; fail "run.sh with a block list exited $code"; }
for want in passed=2 leaked=0 errored=0 exit-code=0 junit=j.xml json=r.json html=out/report.html \
  "markdown=$work/runner/memreg-summary.md"; do
  grep -qx "$want" "$work/r1" || { cat "$work/r1" "$work/r1.log"; fail "run.sh outputs lack $want"; }
done
[ -s "$work/proj/out/report.html" ] || fail "no HTML report"
grep -q "| a |" "$work/summary.md" || fail "the step summary lacks the Markdown table"
# Space-separated paths; a leak: counted, and memreg's exit code passed on.
code=$(act_run "$work/r2" MEMREG_PATHS="b.yaml c.yaml" MEMREG_ARGS="--no-attribution" MEMREG_JUNIT= \
  MEMREG_SUMMARY=false)
[ "$code" = 1 ] || { cat "$work/r2.log"; fail "run.sh on a leak exited $code"; }
for want in passed=1 leaked=1 exit-code=1; do
  grep -qx "$want" "$work/r2" || { cat "$work/r2"; fail "run.sh outputs lack $want"; }
done
if grep -q "^junit=" "$work/r2"; then fail "an empty junit input still wrote JUnit"; fi
say "action run.sh: block lists, outputs, HTML, summary, exit codes"

# 4. uv's installs. Its tool environments hold memreg alone: python3 on PATH (not theirs,
# though uvx puts its environment first on PATH). A `uv venv` virtualenv is the user's.
export UV_CACHE_DIR="$work/uv-cache" UV_TOOL_DIR="$work/uv-tools" UV_TOOL_BIN_DIR="$work/uv-bin" UV_OFFLINE=1
wheel=$(ls "$work"/dist/memreg-*.whl)
banner() { # the banner memreg prints (two lines, joined), running "$@" on the scenario of part 3
  (cd "$work/proj" && "$@" run b.yaml --no-attribution 2>/dev/null | head -n 2 | tr "\n" " ")
}
"$tools/bin/uv" tool install --quiet "$wheel"
line=$(banner "$work/uv-bin/memreg")
case "$line" in *"chosen by python3 on PATH)"*) ;; *) fail "uv tool install: $line" ;; esac
case "$line" in *"$work/uv-tools/"*) fail "uv tool install ran the scenario in memreg's own environment: $line" ;; esac
"$tools/bin/uv" tool uninstall --quiet memreg
line=$(banner "$tools/bin/uvx" --from "$wheel" memreg)
case "$line" in *"chosen by python3 on PATH)"*) ;; *) fail "uvx: $line" ;; esac
case "$line" in *"$work/uv-cache/"*) fail "uvx ran the scenario in memreg's own environment: $line" ;; esac
"$tools/bin/uv" venv --quiet "$work/uv-venv"
"$tools/bin/uv" pip install --quiet --python "$work/uv-venv/bin/python" "$wheel"
line=$(banner "$work/uv-venv/bin/memreg")
case "$line" in *"($work/uv-venv/bin/python, chosen by memreg's own environment)"*) ;; *) fail "uv venv: $line" ;; esac
say "uv tool install and uvx: python3 on PATH, not memreg's environment; uv venv: its python"
say "passed in $(($(date +%s) - started)) s"
