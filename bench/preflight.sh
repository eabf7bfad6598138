#!/usr/bin/env bash
# Pre-flight cost: `hostname` on N loopback hosts (one sshd, see
# ../shared/bench/) run alone, and with --preflight warn (connect, host key,
# auth, then the run on the same connections). Runs the two alternately R
# times and prints each run's wall time and SSH connections accepted, then
# the medians and their ratio. The machine is shared: compare within one
# invocation only.
#
# Usage: bench/preflight.sh [N] [F] [-r REPEAT] [--no-build]
#   N hosts (default 1000), F --forks (default 64), -r runs of each (default 5)
set -euo pipefail

. "$(dirname "$0")/shared.sh"
DIR=${BENCH_DIR:-/tmp/bench}
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
N=1000 F=64 REPEAT=5 BUILD=1
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    -r|--repeat) REPEAT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -ge 1 ] && N=${positional[0]}
[ ${#positional[@]} -ge 2 ] && F=${positional[1]}

"$SHARED/sshd-fleet.sh" "$N" >/dev/null
INV=$("$(dirname "$0")/fleet-inventory.sh" "$N")

if [ "$BUILD" = 1 ]; then
  (cd "$REPO" && CARGO_INCREMENTAL=0 cargo build --release --quiet)
fi
BIN=$TARGET/release/jobdeck
[ -x "$BIN" ] || { echo "preflight: $BIN missing (build it, or drop --no-build)" >&2; exit 2; }

# That pre-flight's connections serve the run (one handshake per host) is
# shown by tests/preflight_ssh.rs; here only the time is compared.
JOURNAL=$DIR/preflight-journal.db
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
one() { # label, extra args... -> wall seconds
  local label=$1; shift
  rm -f "$JOURNAL" "$JOURNAL-wal" "$JOURNAL-shm"
  local start end rc
  start=$(date +%s.%N)
  rc=0
  "$BIN" --run -c hostname -i "$INV" --forks "$F" --journal "$JOURNAL" "$@" \
    > "$DIR/preflight-$label.out" 2> "$DIR/preflight-$label.err" || rc=$?
  end=$(date +%s.%N)
  if [ "$rc" != 0 ] || ! grep -qE "^$N hosts?: $N ok in " "$DIR/preflight-$label.out"; then
    echo "preflight: the $label run did not succeed on all $N hosts (exit $rc)" >&2
    tail -3 "$DIR/preflight-$label.out" >&2
    exit 2
  fi
  echo "$end - $start" | bc
}

alone=() with=()
for run in $(seq 1 "$REPEAT"); do
  a=$(one alone)
  w=$(one preflight --preflight warn)
  alone+=("$a") with+=("$w")
  printf "run %d: alone %.2fs  pre-flight+run %.2fs\n" "$run" "$a" "$w"
done
ma=$(printf '%s\n' "${alone[@]}" | median)
mw=$(printf '%s\n' "${with[@]}" | median)
echo "== medians of $REPEAT runs each (N=$N F=$F), load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "run alone       : %.2fs\n" "$ma"
printf "pre-flight + run: %.2fs  (%.2f x the run alone)\n" "$mw" "$(echo "scale=4; $mw / $ma" | bc)"
grep -m1 '^== pre-flight' "$DIR/preflight-preflight.out" || true
