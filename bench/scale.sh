#!/usr/bin/env bash
# Scale benchmark (issue 15): `jobdeck --run -c hostname` on 10,000 loopback hosts at
# forks 64, 256 and 1000, and on 1,000 hosts at the same forks for comparison. Per run:
# wall time, controller CPU per host (jobdeck's user + system), peak RSS, and the floor
# the server side sets, computed as bench/fanout.sh does: the machine's busy CPU during
# the run minus jobdeck's own, spread over the cores.
#
# Usage: bench/scale.sh [-r REPEAT] [--no-build] [--hosts N] [--small N] [--forks "F ..."]
#                       [--quiet-load L] [--connect-timeout DUR]
#   -r R             run every case R times; medians are reported (default 1)
#   --hosts N        the big fleet (default 10000); --small N the comparison (default 1000)
#   --forks "F ..."  forks to measure (default "64 256 1000")
#   --quiet-load L   before each case wait (up to 30 minutes) for a 1-minute load
#                    average below L (default 2); the run goes on after that, noting it
#   --connect-timeout DUR  passed to jobdeck (default 60s; see bench/README.md)
#   --no-build       use the release binary as it is
# Needs root (the fleet's sshd and user). BENCH_DIR (default /tmp/bench) as in
# ../shared/bench. Starts the fleet (sshd-fleet.sh) and stops it, by its pid, at the end.
# Exit code: 0 if every goal was met, 1 if one was missed, 2 if a run failed.
set -euo pipefail

. "$(dirname "$0")/shared.sh"
DIR=${BENCH_DIR:-/tmp/bench}
BIG=10000 SMALL=1000 FORKS="64 256 1000" REPEAT=1 BUILD=1 QUIET_LOAD=2 CONNECT_TIMEOUT=60s
while [ $# -gt 0 ]; do
  case $1 in
    -r|--repeat) REPEAT=$2; shift 2 ;;
    --hosts) BIG=$2; shift 2 ;;
    --small) SMALL=$2; shift 2 ;;
    --forks) FORKS=$2; shift 2 ;;
    --quiet-load) QUIET_LOAD=$2; shift 2 ;;
    --connect-timeout) CONNECT_TIMEOUT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "scale: unknown argument $1" >&2; exit 2 ;;
  esac
done

# Goals (issue 15, "10,000 hosts").
MAX_RSS_MB=256 MAX_WALL_OVER_FLOOR=1.1

command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc; }

if [ "$BUILD" = 1 ]; then
  (cd "$REPO" && CARGO_INCREMENTAL=0 cargo build --release --quiet)
fi
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/jobdeck
[ -x "$BIN" ] || { echo "scale: $BIN missing (build it, or drop --no-build)" >&2; exit 2; }

# One fleet for both sizes: the small one is the first SMALL hosts of the big one.
start_fleet scale "$BIG"
head -n "$SMALL" "$DIR/hosts$BIG.txt" > "$DIR/hosts$SMALL.txt"
INV_BIG=$("$(dirname "$0")/fleet-inventory.sh" "$BIG")
INV_SMALL=$("$(dirname "$0")/fleet-inventory.sh" "$SMALL")

busy_jiffies() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9}' /proc/stat; }
HZ=$(getconf CLK_TCK) CORES=$(nproc)
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# Waits for the fleet's sshd children of the last run to go, so a run's
# measurement never holds the tail of the one before.
settle() {
  for _ in $(seq 1 60); do
    [ "$(pgrep -c -P "$SSHD_PID" || true)" = 0 ] && return
    sleep 0.5
  done
}

wait_quiet() {
  local waited=0
  while [ "$(echo "$(load1) >= $QUIET_LOAD" | bc)" = 1 ] && [ $waited -lt 1800 ]; do
    sleep 30; waited=$((waited + 30))
  done
}

RESULTS=$DIR/scale-results.$$
: > "$RESULTS"
status=0
JOURNAL=$DIR/scale-journal.db
# One case: N hosts at forks F. Appends "N F wall ctl_cpu rss_mb machine_cpu load".
measure() {
  local n=$1 f=$2 inv=$3
  settle
  wait_quiet
  rm -f "$JOURNAL" "$JOURNAL-wal" "$JOURNAL-shm"
  local load_before before start end after
  load_before=$(load1)
  before=$(busy_jiffies); start=$(date +%s.%N)
  /usr/bin/time -f "%U %S %M" -o "$DIR/scale-time" \
    "$BIN" --run -c hostname -i "$inv" --forks "$f" --connect-timeout "$CONNECT_TIMEOUT" \
    --journal "$JOURNAL" > "$DIR/scale.out" 2> "$DIR/scale.err" && rc=0 || rc=$?
  end=$(date +%s.%N); after=$(busy_jiffies)
  local u s m
  read -r u s m < <(tail -1 "$DIR/scale-time")
  local summary
  summary=$(grep -E '^[0-9]+ hosts?: ' "$DIR/scale.out" | tail -1 || true)
  if [ "$rc" != 0 ] || ! echo "$summary" | grep -qE "^$n hosts?: $n ok in "; then
    echo "scale: N=$n F=$f did not succeed on every host (exit $rc): ${summary:-no summary}" >&2
    head -5 "$DIR/scale.err" >&2
    grep -vE '^vm$|\[OK\]' "$DIR/scale.out" | head -5 >&2
    status=2
  fi
  local wall ctl machine
  wall=$(echo "$end - $start" | bc)
  ctl=$(echo "$u + $s" | bc)
  machine=$(echo "scale=2; ($after - $before) / $HZ" | bc)
  printf "N=%-6s F=%-5s wall=%7.2fs ctl_cpu=%6.2fs (%.3f ms/host) peak_rss=%4dMB floor=%7.2fs wall/floor=%.3f load=%s->%s\n" \
    "$n" "$f" "$wall" "$ctl" "$(echo "$ctl * 1000 / $n" | bc -l)" $((m / 1024)) \
    "$(echo "($machine - $ctl) / $CORES" | bc -l)" "$(echo "$wall * $CORES / ($machine - $ctl)" | bc -l)" \
    "$load_before" "$(load1)"
  echo "$n $f $wall $ctl $((m / 1024)) $machine $load_before" >> "$RESULTS"
}

for run in $(seq 1 "$REPEAT"); do
  echo "== run $run of $REPEAT"
  for f in $FORKS; do
    measure "$SMALL" "$f" "$INV_SMALL"
    measure "$BIG" "$f" "$INV_BIG"
  done
done

verdict() { if [ "$(echo "$1" | bc)" = 1 ]; then echo ok; else echo MISSED; fi; }
missed=0
echo
echo "== medians of $REPEAT run(s); floor = (machine busy CPU - jobdeck CPU) / $CORES cores"
printf "%-6s %-5s %9s %14s %9s %9s %10s\n" hosts forks wall "CPU/host" "peak RSS" floor wall/floor
for f in $FORKS; do
  for n in "$SMALL" "$BIG"; do
    rows=$(awk -v n="$n" -v f="$f" '$1 == n && $2 == f' "$RESULTS")
    wall=$(echo "$rows" | awk '{print $3}' | median)
    cpu=$(echo "$rows" | awk '{print $4 * 1000 / $1}' | median)
    rss=$(echo "$rows" | awk '{print $5}' | median)
    floor=$(echo "$rows" | awk -v c="$CORES" '{print ($6 - $4) / c}' | median)
    ratio=$(echo "$rows" | awk -v c="$CORES" '{print $3 * c / ($6 - $4)}' | median)
    printf "%-6s %-5s %8.2fs %11.3f ms %7.0f MB %8.2fs %10.3f\n" "$n" "$f" "$wall" "$cpu" "$rss" "$floor" "$ratio"
    eval "cpu_${n}_${f}=$cpu rss_${n}_${f}=$rss ratio_${n}_${f}=$ratio"
  done
done
echo
echo "== goals at $BIG hosts"
for f in $FORKS; do
  big_cpu=$(eval echo "\$cpu_${BIG}_${f}") small_cpu=$(eval echo "\$cpu_${SMALL}_${f}")
  ratio=$(eval echo "\$ratio_${BIG}_${f}")
  v_cpu=$(verdict "$big_cpu <= $small_cpu") v_wall=$(verdict "$ratio <= $MAX_WALL_OVER_FLOOR")
  printf "forks %-5s CPU/host %.3f ms vs %.3f ms at %s hosts: %s; wall/floor %.3f (<= %s): %s\n" \
    "$f" "$big_cpu" "$small_cpu" "$SMALL" "$v_cpu" "$ratio" "$MAX_WALL_OVER_FLOOR" "$v_wall"
  [ "$v_cpu" = ok ] && [ "$v_wall" = ok ] || missed=1
done
last=${FORKS##* }
rss=$(eval echo "\$rss_${BIG}_${last}")
v_rss=$(verdict "$rss <= $MAX_RSS_MB")
printf "peak RSS at forks %s: %.0f MB (<= %s): %s\n" "$last" "$rss" "$MAX_RSS_MB" "$v_rss"
[ "$v_rss" = ok ] || missed=1
echo "loads before each case (1-minute): $(awk '{print $7}' "$RESULTS" | paste -sd' ')"
rm -f "$RESULTS"
if [ $status -ne 0 ]; then
  echo "scale: at least one run failed; the numbers above are not valid" >&2
  exit $status
fi
exit $missed
