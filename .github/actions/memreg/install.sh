#!/usr/bin/env bash
# Installs memreg for the composite action (action.yml), in the steps the action runs
# in order:
#
#   install.sh plan     what to install: the version, where, and the cache keys
#   install.sh wheel    pip installs that version's wheel (seconds); says so, or that no
#                       wheel fits this runner
#   install.sh source   only when no wheel fits: cargo builds the action's own source
#                       (minutes cold; the action caches cargo's registry and target dir)
#
# Every step writes its results as name=value lines to $GITHUB_OUTPUT and says what it
# did. Inputs come from the environment, never from the command line of a workflow:
#
#   MEMREG_VERSION     the memreg version to install (`0.2.0` or `v0.2.0`); empty: the
#                      version of the action's own source (its Cargo.toml)
#   MEMREG_INSTALL     auto (the wheel, else source) | wheel (fail without one) | source
#   MEMREG_FIND_LINKS  more places pip looks for wheels (directories or URLs; one per
#                      line, or separated by spaces)
#   MEMREG_ROOT        where to install (default: $RUNNER_TEMP/memreg)
#
# The wheel goes into a directory of its own (`pip install --target`), not into the
# job's Python environment: memreg then runs scenarios with the job's Python (the
# active virtualenv, else python3), never with an environment of its own.
# Tested locally by scripts/test_packaging.sh: a local wheel directory, a fake cargo.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
root=${MEMREG_ROOT:-${RUNNER_TEMP:?RUNNER_TEMP or MEMREG_ROOT must be set}/memreg}
out=${GITHUB_OUTPUT:-/dev/null}
mode=${MEMREG_INSTALL:-auto}
mkdir -p "$root"

fail() {
  echo "::error title=memreg install::$1"
  exit 1
}

# The version in the action's own Cargo.toml ([package] version).
own_version() {
  sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$src/Cargo.toml" | head -n 1
}

wanted_version() {
  local v=${MEMREG_VERSION:-}
  v=${v#v}
  if [ -z "$v" ]; then own_version; else echo "$v"; fi
}

# Versions compared as pip and cargo spell them: 0.2.0rc1 = 0.2.0-rc.1.
same_version() {
  [ "$(echo "$1" | tr -d '._-')" = "$(echo "$2" | tr -d '._-')" ]
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum | cut -d' ' -f1; else shasum -a 256 | cut -d' ' -f1; fi
}

case "$mode" in
  auto | wheel | source) ;;
  *) fail "install must be auto, wheel or source, not '$mode'" ;;
esac

case "${1:-}" in
  plan)
    version=$(wanted_version)
    own=$(own_version)
    [ -n "$version" ] || fail "cannot read the version from $src/Cargo.toml"
    # The cargo cache is keyed by the lock file and the compiler that filled it.
    rustc_version=$(rustc --version 2>/dev/null || echo "no rustc")
    cargo_key=$({ cat "$src/Cargo.lock"; echo "$rustc_version"; } | sha256 | cut -c1-20)
    {
      echo "version=$version"
      echo "own-version=$own"
      echo "pip-cache=$root/pip-cache"
      echo "cargo-target=$root/target"
      echo "cargo-key=$cargo_key"
    } >> "$out"
    echo "memreg $version wanted (install: $mode; this action's source is memreg $own)"
    ;;

  wheel)
    version=$(wanted_version)
    if [ "$mode" = source ]; then
      echo "install: source - not looking for a wheel"
      echo "installed=false" >> "$out"
      exit 0
    fi
    args=(--disable-pip-version-check --no-input --quiet --only-binary=:all: --no-deps
      --cache-dir "$root/pip-cache" --target "$root/wheel")
    read -r -d '' -a links <<< "${MEMREG_FIND_LINKS:-}" || true
    for link in ${links[@]+"${links[@]}"}; do args+=(--find-links "$link"); done
    rm -rf "$root/wheel"
    if python3 -m pip install "${args[@]}" "memreg==$version" > "$root/pip.log" 2>&1; then
      memreg="$root/wheel/bin/memreg"
      shown=$("$memreg" --version)
      same_version "$shown" "memreg $version" || fail "the wheel of memreg $version says '$shown'"
      echo "memreg $version installed from its wheel with pip ($shown)"
      {
        echo "installed=true"
        echo "method=wheel"
        echo "memreg=$memreg"
      } >> "$out"
    else
      echo "no memreg $version wheel fits this runner ($(uname -s) $(uname -m)), or the package index is out of reach; pip said:"
      tail -n 5 "$root/pip.log" | sed 's/^/    /'
      [ "$mode" = wheel ] && fail "install: wheel, and no memreg $version wheel could be installed"
      echo "installed=false" >> "$out"
    fi
    ;;

  source)
    version=$(wanted_version)
    own=$(own_version)
    if ! same_version "$version" "$own"; then
      fail "no wheel of memreg $version fits this runner, and this action's source is memreg $own: pin the action to the release of memreg $version, or leave version empty"
    fi
    command -v cargo >/dev/null ||
      fail "no memreg wheel fits this runner and there is no cargo to build it: install Rust (rustup) in an earlier step"
    echo "building memreg $own from the action's source with cargo (a few minutes unless the cargo cache is warm)"
    started=$(date +%s)
    cargo build --release --locked --quiet --manifest-path "$src/Cargo.toml" --target-dir "$root/target"
    memreg="$root/target/release/memreg"
    echo "memreg built from source in $(($(date +%s) - started)) s ($("$memreg" --version))"
    {
      echo "installed=true"
      echo "method=source"
      echo "memreg=$memreg"
    } >> "$out"
    ;;

  *)
    echo "usage: install.sh plan|wheel|source" >&2
    exit 2
    ;;
esac
