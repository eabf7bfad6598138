# Sourced by the benchmarks: REPO (this repository) and SHARED, the shared
# benchmark scripts, which sit beside the repository in ../shared/bench (from
# a git worktree: beside its main checkout). SHARED_BENCH=DIR overrides.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${SHARED_BENCH:-}" ]; then
  main=$(git -C "$REPO" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  for beside in "$REPO" "${main:+$(dirname "$main")}"; do
    if [ -n "$beside" ] && [ -d "$beside/../shared/bench" ]; then
      SHARED_BENCH=$(cd "$beside/../shared/bench" && pwd)
      break
    fi
  done
fi
SHARED=${SHARED_BENCH:?no ../shared/bench beside $REPO; set SHARED_BENCH=DIR}
