#!/usr/bin/env bash
# Controller CPU per host as counts, not times (issue 15: "controller CPU per host at
# 10,000 hosts no higher than at 1,000"). Runs `jobdeck --run -c hostname` on the
# first N hosts of the loopback fleet under valgrind's callgrind, for each N, and
# prints the instructions executed per host: in all, and split into three parts:
# the main thread (start-up: inventory, plan, guard rules, the journal instance; then
# the engine's batch loop, which it polls), the journal writer thread, and the rest
# (the async worker: the hosts' tasks with their SSH sessions, the reporter, the
# journal forwarder). Then the marginal cost of a host between consecutive sizes,
# which has no fixed cost in it. Instruction counts do not move with the machine's
# load, so this compares sizes on a shared machine where CPU times do not. (valgrind
# counts a `rep movsb` byte by byte: large memcpys weigh more here than on hardware.)
#
# Usage: bench/cpu-count.sh [--sizes "N ..."] [--forks F] [--cache] [--no-build]
#                           [--fleet-running [--fleet N]]
#   --sizes "N ..."  fleet sizes, smallest first (default "1000 2000 10000")
#   --forks F        jobdeck's --forks (default 64)
#   --cache          also simulate the caches (D1 48 KiB, last level 2 MiB per core,
#                    as on the benchmark machine) and print misses per host; 1.5x slower
#   --no-build       use the release binary as it is
#   --fleet-running  use the fleet sshd that already runs (sshd-fleet.sh with at least
#                    the largest size) instead of starting one and stopping it;
#                    --fleet N: that fleet's size, if larger than the largest size
# Needs root (the fleet's sshd and user) and valgrind (installed if missing). Under
# callgrind jobdeck runs about 50x slower: 10,000 hosts take 6-10 minutes.
# Exit code: 0 if instructions per host at the largest size are no more than at the
# smallest, 1 if more, 2 if a run failed.
set -euo pipefail

. "$(dirname "$0")/shared.sh"
DIR=${BENCH_DIR:-/tmp/bench}
SIZES="1000 2000 10000" FORKS=64 CACHE=0 BUILD=1 FLEET_RUNNING=0 FLEET=
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --forks) FORKS=$2; shift 2 ;;
    --cache) CACHE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    --fleet-running) FLEET_RUNNING=1; shift ;;
    --fleet) FLEET=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "cpu-count: unknown argument $1" >&2; exit 2 ;;
  esac
done
BIG=${SIZES##* }
FLEET=${FLEET:-$BIG}

command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
if [ "$BUILD" = 1 ]; then
  (cd "$REPO" && CARGO_INCREMENTAL=0 cargo build --release --quiet)
fi
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/jobdeck
[ -x "$BIN" ] || { echo "cpu-count: $BIN missing (build it, or drop --no-build)" >&2; exit 2; }

if [ "$FLEET_RUNNING" = 1 ]; then
  [ -s "$DIR/hosts$FLEET.txt" ] || { echo "cpu-count: no fleet of $FLEET hosts in $DIR" >&2; exit 2; }
else
  start_fleet cpu-count "$FLEET"
fi

OUT=$DIR/cpu-count.$$
mkdir -p "$OUT"
tool=(valgrind --tool=callgrind)
[ "$CACHE" = 1 ] && tool+=(--cache-sim=yes --D1=49152,12,64 --LL=2097152,16,64)

# The inclusive count of the first function whose name ends as given.
inclusive() {
  awk -v want="$2" '
    { line = $0; sub(/ \[[^]]*\]$/, "", line) }
    index(line, ":" want) && substr(line, length(line) - length(want) + 1) == want {
      gsub(",", "", $1); print $1; exit }' "$1"
}

status=0
printf "%-6s %12s %12s %12s %12s" hosts "Ir/host" "rest/host" "writer/host" "main/host"
[ "$CACHE" = 1 ] && printf " %12s %12s" "D1miss/host" "LLmiss/host"
echo
for n in $SIZES; do
  [ "$n" = "$FLEET" ] || head -n "$n" "$DIR/hosts$FLEET.txt" > "$DIR/hosts$n.txt"
  inv=$("$(dirname "$0")/fleet-inventory.sh" "$n")
  journal=$OUT/journal-$n.db
  "${tool[@]}" --callgrind-out-file="$OUT/callgrind-$n.out" \
    "$BIN" --run -c hostname -i "$inv" --forks "$FORKS" --connect-timeout 120s \
    --journal "$journal" > "$OUT/run-$n.out" 2> "$OUT/valgrind-$n.err" && rc=0 || rc=$?
  if [ "$rc" != 0 ] || ! grep -qE "^$n hosts?: $n ok in " "$OUT/run-$n.out"; then
    echo "cpu-count: N=$n did not succeed on every host (exit $rc); see $OUT" >&2
    status=2
    continue
  fi
  callgrind_annotate --inclusive=yes --threshold=100 "$OUT/callgrind-$n.out" > "$OUT/annotate-$n.txt" 2>/dev/null
  # The counts of every event, without their percentages.
  read -r -a totals < <(awk '/PROGRAM TOTALS/ { gsub(",", ""); gsub(/\([^)]*\)/, ""); sub(/PROGRAM TOTALS.*/, ""); print; exit }' \
    "$OUT/annotate-$n.txt")
  writer=$(inclusive "$OUT/annotate-$n.txt" "jobdeck::journal::writer::Writer::run")
  main=$(inclusive "$OUT/annotate-$n.txt" "jobdeck::main")
  ir=${totals[0]}
  echo "$n $ir ${writer:-0} ${main:-0} ${totals[*]:1}" >> "$OUT/rows"
  printf "%-6s %12.0f %12.0f %12.0f %12.0f" "$n" "$(echo "$ir / $n" | bc -l)" \
    "$(echo "($ir - ${writer:-0} - ${main:-0}) / $n" | bc -l)" \
    "$(echo "${writer:-0} / $n" | bc -l)" "$(echo "${main:-0} / $n" | bc -l)"
  if [ "$CACHE" = 1 ]; then
    # Events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw.
    printf " %12.1f %12.1f" "$(echo "(${totals[4]} + ${totals[5]}) / $n" | bc -l)" \
      "$(echo "(${totals[7]} + ${totals[8]}) / $n" | bc -l)"
  fi
  echo
done

if [ -s "$OUT/rows" ]; then
  echo
  echo "== marginal cost of a host between sizes (no fixed cost in it), instructions"
  awk 'NR > 1 {
         d = $1 - n
         printf "%6s -> %-6s all %10.0f  rest %10.0f  writer %9.0f  main %9.0f\n",
           n, $1, ($2 - ir) / d, (($2 - $3 - $4) - (ir - w - s)) / d, ($3 - w) / d, ($4 - s) / d
       }
       { n = $1; ir = $2; w = $3; s = $4 }' "$OUT/rows"
fi
echo "(callgrind files in $OUT)"
[ $status -ne 0 ] && exit $status
first=$(head -1 "$OUT/rows") last=$(tail -1 "$OUT/rows")
read -r n1 ir1 _ <<< "$first"; read -r n2 ir2 _ <<< "$last"
if [ "$(echo "$ir2 / $n2 <= $ir1 / $n1" | bc -l)" = 1 ]; then
  echo "instructions per host at $n2 hosts <= at $n1: ok"
else
  echo "instructions per host at $n2 hosts > at $n1: MISSED"
  exit 1
fi
