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

# Starts the loopback fleet of N hosts (sshd-fleet.sh) for the script WHO and stops
# it, by its pid, when the script exits; refuses (exit 2) if a fleet sshd already
# runs, since someone may be using it. Sets SSHD_PID. Needs DIR (BENCH_DIR).
start_fleet() {
  local who=$1 n=$2
  if [ -f "$DIR/sshd/sshd.pid" ] && kill -0 "$(cat "$DIR/sshd/sshd.pid")" 2>/dev/null; then
    echo "$who: a fleet sshd already runs (pid $(cat "$DIR/sshd/sshd.pid")); someone may be using it" >&2
    exit 2
  fi
  "$SHARED/sshd-fleet.sh" "$n" >/dev/null
  SSHD_PID=$(cat "$DIR/sshd/sshd.pid")
  trap 'kill "$SSHD_PID" 2>/dev/null || true' EXIT
}
