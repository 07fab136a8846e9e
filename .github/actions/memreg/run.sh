#!/usr/bin/env bash
# Runs `memreg run` for the composite action (action.yml) and sets the action's outputs.
# Inputs come from the environment, never interpolated into a script:
#
#   MEMREG            the memreg executable (install.sh's output)
#   MEMREG_PATHS      scenario files or directories: one per line when the input has
#                     several lines (a YAML `|` block; blank lines and `#` lines skipped),
#                     else separated by spaces
#   MEMREG_ARGS       extra `memreg run` arguments, separated by spaces or newlines
#   MEMREG_PYTHON     --python, when not empty
#   MEMREG_JUNIT, MEMREG_JSON, MEMREG_MARKDOWN, MEMREG_HTML
#                     report paths; an empty one is not written (JSON and Markdown then
#                     go to the runner's temp directory: the outputs and the summary
#                     need them)
#   MEMREG_SUMMARY    `true`: append the Markdown summary to $GITHUB_STEP_SUMMARY
#
# Outputs: passed, leaked, regressed, errored (scenario counts), exit-code, and junit,
# json, markdown, html (the paths of the reports written). Exits with memreg's code.
# Written for bash 3.2 too (macOS). Tested by scripts/test_packaging.sh.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${GITHUB_OUTPUT:-/dev/null}
tmp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}

# One item per line when there are several lines, else one per word.
paths=()
case "${MEMREG_PATHS:-}" in
  *$'\n'*)
    while IFS= read -r line; do
      line="${line#"${line%%[![:space:]]*}"}"
      line="${line%"${line##*[![:space:]]}"}"
      case "$line" in "" | "#"*) continue ;; esac
      paths+=("$line")
    done <<< "$MEMREG_PATHS"
    ;;
  *) read -r -a paths <<< "${MEMREG_PATHS:-}" ;;
esac
read -r -d '' -a extra <<< "${MEMREG_ARGS:-}" || true

junit=${MEMREG_JUNIT:-}
json=${MEMREG_JSON:-$tmp/memreg-report.json}
markdown=${MEMREG_MARKDOWN:-$tmp/memreg-summary.md}
html=${MEMREG_HTML:-}

cmd=("${MEMREG:?MEMREG must name the memreg executable}" run)
cmd+=(${paths[@]+"${paths[@]}"})
cmd+=(--json "$json" --markdown "$markdown")
if [ -n "$junit" ]; then cmd+=(--junit "$junit"); fi
if [ -n "$html" ]; then cmd+=(--html "$html"); fi
if [ -n "${MEMREG_PYTHON:-}" ]; then cmd+=(--python "$MEMREG_PYTHON"); fi
cmd+=(${extra[@]+"${extra[@]}"})

"${cmd[@]}"
code=$?

if [ "${MEMREG_SUMMARY:-true}" = "true" ] && [ -f "$markdown" ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$markdown" >> "$GITHUB_STEP_SUMMARY"
fi
{
  if [ -f "$json" ]; then python3 "$here/outputs.py" "$json"; fi
  for report in "junit=$junit" "json=$json" "markdown=$markdown" "html=$html"; do
    if [ -f "${report#*=}" ]; then echo "$report"; fi
  done
  echo "exit-code=$code"
} >> "$out"
exit "$code"
