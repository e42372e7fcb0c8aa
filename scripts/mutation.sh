#!/usr/bin/env bash
# Mutation testing (mutmut 3) of ONE module against its fast tests, in a throw-away copy of the
# working tree (never in the tree itself: mutmut writes a mutants/ folder next to the code).
#
#   scripts/mutation.sh MODULE TEST_FILE...            e.g.
#   scripts/mutation.sh modellab/metrics/wer.py tests/test_wer.py tests/test_properties.py tests/test_run_level_metrics.py
#
# Prints mutmut's per-mutant results and a last line "MODULE killed K of N (P %)". Not part of
# scripts/test.sh (CPU-heavy: every mutant re-runs the selected tests). Options through the
# environment: MUTATION_WORKDIR (default: a new temp folder, kept for `mutmut show NAME` there),
# MUTATION_CHILDREN (parallel mutants, default 1). Needs `.venv/bin/pip install mutmut` (3.x).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -lt 2 ]; then
  echo "usage: scripts/mutation.sh MODULE TEST_FILE..." >&2
  exit 2
fi
module="$1"
shift
[ -f "$module" ] || { echo "scripts/mutation.sh: no module file '$module'" >&2; exit 2; }
for t in "$@"; do [ -f "$t" ] || { echo "scripts/mutation.sh: no test file '$t'" >&2; exit 2; }; done
[ -x .venv/bin/mutmut ] || { echo "scripts/mutation.sh: mutmut is not installed (.venv/bin/pip install mutmut)" >&2; exit 2; }

work="${MUTATION_WORKDIR:-$(mktemp -d /tmp/modellab-mutation.XXXXXX)}"
mkdir -p "$work"
# tracked and untracked-but-not-ignored files: the working tree as it is now, not HEAD (files
# deleted in the tree but still tracked are skipped)
git ls-files -co --exclude-standard -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$work"
repo="$PWD"
tests_toml=$(printf '"%s", ' "$@")
cat >>"$work/pyproject.toml" <<EOF

[tool.mutmut]
source_paths = ["modellab"]
only_mutate = ["$module"]
also_copy = ["conf", "data", "benchmarks"]
pytest_add_cli_args = ["-q", "-p", "no:cacheprovider", "-x", "-m", "not slow and not browser"]
pytest_add_cli_args_test_selection = [${tests_toml%, }]
use_git_change_detection = false
EOF
# mutants run slower (trampolines, a busy machine): no per-example deadline for hypothesis there
cat >>"$work/tests/conftest.py" <<'EOF'


from hypothesis import settings as _hypothesis_settings  # noqa: E402 - added by scripts/mutation.sh

_hypothesis_settings.register_profile("mutation", deadline=None)
_hypothesis_settings.load_profile("mutation")
EOF
export PYANNOTE_METRICS_ENABLED=false HF_HUB_OFFLINE=1
cd "$work"
"$repo/.venv/bin/mutmut" run --max-children "${MUTATION_CHILDREN:-1}" >mutmut-run.log 2>&1 || {
  tail -40 mutmut-run.log >&2
  exit 1
}
"$repo/.venv/bin/mutmut" results --all true >mutmut-results.txt 2>&1 || true
cat mutmut-results.txt
total=$(grep -c ': ' mutmut-results.txt || true)
killed=$(grep -c ': killed' mutmut-results.txt || true)
echo "$module killed $killed of $total ($(( total ? 100 * killed / total : 0 )) %)  [workdir $work]"
