#!/usr/bin/env bash
# Fan-out benchmark: `hostname` on N loopback hosts at fanout F with pdsh, pssh, clush
# and jobdeck, measured in ONE peers.sh run so the ratios are comparable (the machine
# is shared and noisy). Prints each tool's wall time, controller CPU, sshd CPU and peak
# RSS, the machine's whole CPU time per tool, then jobdeck against the targets of
# issue 3 and against the floor the server side sets (its CPU spread over the cores).
#
# Usage: bench/fanout.sh [N] [F] [-r REPEAT] [--no-build]
#   N        hosts (default 1000)          F  fanout / --forks (default 64)
#   -r R     run the whole comparison R times and print medians (default 1)
#   --no-build  use target/release/jobdeck as it is
# Needs root (the fleet's sshd and user). BENCH_DIR (default /tmp/bench) as in
# ../shared/bench. Exit code: 0 if jobdeck met every target, 1 if it missed one,
# 2 if a run failed (then the numbers mean nothing).
set -euo pipefail

. "$(dirname "$0")/shared.sh"
DIR=${BENCH_DIR:-/tmp/bench}
N=1000 F=64 REPEAT=1 BUILD=1
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    -r|--repeat) REPEAT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -ge 1 ] && N=${positional[0]}
[ ${#positional[@]} -ge 2 ] && F=${positional[1]}

# Targets (issue 3, "Speed").
MAX_WALL_RATIO=0.55 MAX_CPU_MS_PER_HOST=1.0 MAX_RSS_MB=64

need_peers=()
command -v pdsh >/dev/null || need_peers+=(pdsh)
command -v parallel-ssh >/dev/null || need_peers+=(pssh)
command -v clush >/dev/null || need_peers+=(clustershell)
if [ ${#need_peers[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_peers[@]}"
fi
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc; }

"$SHARED/sshd-fleet.sh" "$N" >/dev/null

# The fleet's inventory, with host keys checked against the fleet's wildcard
# known_hosts line (never StrictHostKeyChecking=no for jobdeck).
INV=$("$(dirname "$0")/fleet-inventory.sh" "$N")

if [ "$BUILD" = 1 ]; then
  (cd "$REPO" && CARGO_INCREMENTAL=0 cargo build --release --quiet)
fi
BIN=$REPO/target/release/jobdeck
[ -x "$BIN" ] || { echo "fanout: $BIN missing (build it, or drop --no-build)" >&2; exit 2; }

JOURNAL=$DIR/jobdeck-journal.db
# One command string, run by peers.sh under /usr/bin/time like the peers. Output goes
# to a file for the success check (its `cat` costs a millisecond). The journal is
# removed before each run (outside the timing) so every run pays the same set-up.
JD="$BIN --run -c hostname -i $INV --forks $F --journal $JOURNAL > $DIR/jobdeck.out 2> $DIR/jobdeck.err; echo \$? > $DIR/jobdeck.rc; cat $DIR/jobdeck.out"

# Busy CPU time of the whole machine (all but idle and iowait), in jiffies.
busy_jiffies() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9}' /proc/stat; }
HZ=$(getconf CLK_TCK) CORES=$(nproc)
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }

RESULTS=$DIR/fanout-results.$$
: > "$RESULTS"
status=0
for run in $(seq 1 "$REPEAT"); do
  [ "$REPEAT" -gt 1 ] && echo "== run $run of $REPEAT (N=$N F=$F)"
  rm -f "$JOURNAL" "$JOURNAL-wal" "$JOURNAL-shm"
  # One peers.sh call per tool (same fleet, same session), so the machine's
  # whole CPU time can be read around each: it also counts the sshd children
  # that peers.sh's sshd_cpu misses (those not yet reaped when a tool ends).
  out=""
  for tool in pdsh pssh clush "$JD"; do
    before=$(busy_jiffies)
    line=$("$SHARED/peers.sh" "$N" "$F" "$tool")
    after=$(busy_jiffies)
    out+="$line machine_cpu=$(echo "scale=2; ($after - $before) / $HZ" | bc)"$'\n'
  done
  out=${out%$'\n'}
  # peers.sh labels a command by its first 12 characters (one word here); name it.
  out=$(echo "$out" | awk -v OFS=' ' '{ if ($1 != "pdsh" && $1 != "pssh" && $1 != "clush") $1 = sprintf("%-12s", "jobdeck"); print }')
  echo "$out"
  rc=$(cat "$DIR/jobdeck.rc")
  summary=$(grep -E '^[0-9]+ hosts?: ' "$DIR/jobdeck.out" | tail -1 || true)
  if [ "$rc" != 0 ] || ! echo "$summary" | grep -qE "^$N hosts?: $N ok in "; then
    echo "fanout: jobdeck did not succeed on all $N hosts (exit $rc): ${summary:-no summary}" >&2
    head -5 "$DIR/jobdeck.err" >&2
    grep -vE '^vm$' "$DIR/jobdeck.out" | head -10 >&2
    status=2
  fi
  echo "   jobdeck: exit $rc, $summary"
  best=$(echo "$out" | grep -vE '^jobdeck ' | field wall | sort -g | head -1)
  jd=$(echo "$out" | grep -E '^jobdeck ')
  jwall=$(echo "$jd" | field wall) jcpu=$(echo "$jd" | field ctl_cpu) jrss=$(echo "$jd" | sed -n 's/.*peak_rss=\([0-9]*\)MB.*/\1/p')
  ratio=$(echo "scale=4; $jwall / $best" | bc)
  cpu_ms=$(echo "scale=4; $jcpu * 1000 / $N" | bc)
  echo "$out" | awk '{print "tool", $0}' >> "$RESULTS"
  # The server side (sshd, the login shells, `hostname`, the kernel) under
  # jobdeck: what is left of the machine's CPU once jobdeck's own is taken
  # out. Spread over every core, it is the wall time of a client that costs
  # nothing: the floor no client can beat on this machine.
  jmachine=$(echo "$jd" | field machine_cpu)
  floor=$(echo "scale=4; ($jmachine - $jcpu) / $CORES" | bc)
  floor_ratio=$(echo "scale=4; $floor / $best" | bc)
  echo "   server side under jobdeck: $(echo "scale=2; ($jmachine - $jcpu) * 1000 / $N" | bc) ms CPU/host; a client costing nothing would take ${floor}s on $CORES cores = $(printf %.2f "$floor_ratio") x the best peer"
  echo "ratio $ratio $cpu_ms $jrss $best $jwall $floor_ratio" >> "$RESULTS"
done

verdict() { # value limit -> "ok" or "MISSED"
  if [ "$(echo "$1 <= $2" | bc)" = 1 ]; then echo ok; else echo MISSED; fi
}
echo
if [ "$REPEAT" -gt 1 ]; then
  echo "== medians of $REPEAT runs (N=$N F=$F)"
  for tool in pdsh pssh clush jobdeck; do
    rows=$(grep -E "^tool $tool " "$RESULTS" || true)
    [ -n "$rows" ] || continue
    printf "%-8s wall=%.2fs ctl_cpu=%.2fs sshd_cpu=%.2fs machine_cpu=%.2fs peak_rss=%sMB\n" "$tool" \
      "$(echo "$rows" | field wall | median)" "$(echo "$rows" | field ctl_cpu | median)" \
      "$(echo "$rows" | field sshd_cpu | median)" "$(echo "$rows" | field machine_cpu | median)" \
      "$(echo "$rows" | sed -n 's/.*peak_rss=\([0-9]*\)MB.*/\1/p' | median)"
  done
fi
ratios=$(grep '^ratio ' "$RESULTS")
ratio=$(echo "$ratios" | awk '{print $2}' | median)
cpu_ms=$(echo "$ratios" | awk '{print $3}' | median)
rss=$(echo "$ratios" | awk '{print $4}' | median)
floor_ratio=$(echo "$ratios" | awk '{print $7}' | median)
what=$([ "$REPEAT" -gt 1 ] && echo "median of $REPEAT runs, each ratio within its own run" || echo "one run")
echo "== jobdeck against the targets ($what)"
printf "wall / best peer wall : %.2f   (target <= %s)  %s\n" "$ratio" $MAX_WALL_RATIO "$(verdict "$ratio" $MAX_WALL_RATIO)"
printf "controller CPU / host : %.2f ms (target <= %s) %s\n" "$cpu_ms" $MAX_CPU_MS_PER_HOST "$(verdict "$cpu_ms" $MAX_CPU_MS_PER_HOST)"
printf "peak RSS              : %s MB  (target <= %s)   %s\n" "$rss" $MAX_RSS_MB "$(verdict "$rss" $MAX_RSS_MB)"
printf "floor (server CPU / cores) / best peer: %.2f   (no client can go below this here)\n" "$floor_ratio"
echo "   machine load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (run on a quiet machine)"
rm -f "$RESULTS"
if [ $status -ne 0 ]; then
  echo "fanout: at least one jobdeck run failed; the numbers above are not valid" >&2
  exit $status
fi
for v in "$(verdict "$ratio" $MAX_WALL_RATIO)" "$(verdict "$cpu_ms" $MAX_CPU_MS_PER_HOST)" "$(verdict "$rss" $MAX_RSS_MB)"; do
  [ "$v" = ok ] || exit 1
done
