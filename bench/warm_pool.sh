#!/usr/bin/env bash
# Warm connections: two consecutive `hostname` runs over N loopback hosts
# (one sshd, see ../shared/bench/) as the console makes them, cold (each run
# dials every host) and through one warm pool (the second run reuses the
# first one's connections) — benches/warm_pool.rs — then `ansible -m raw`
# twice within its ControlPersist window (ansible's ssh keeps a master
# connection per host for 60 s by default; the script sets 10 minutes so a
# 1,000-host first run cannot outlast it), all in one invocation. Prints
# each run and the ratios against the goals: warm ≤ 0.15× cold and ≤ 0.5×
# ansible's second run. The machine is shared: compare within one run only.
#
# Usage: bench/warm_pool.sh [N] [F]   N hosts (default 1000), F forks (default 64)
set -euo pipefail

. "$(dirname "$0")/shared.sh"
DIR=${BENCH_DIR:-/tmp/bench}
N=${1:-1000} F=${2:-64}

"$SHARED/sshd-fleet.sh" "$N" >/dev/null
[ -s "$DIR/known_hosts" ] || { echo "warm_pool: $DIR/known_hosts missing" >&2; exit 2; }

echo "== jobdeck, console-style runs (N=$N F=$F), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$(cd "$REPO" && N=$N F=$F BENCH_DIR=$DIR CARGO_INCREMENTAL=0 \
  cargo bench --quiet --bench warm_pool)
echo "$out" | grep -v '^WARM2='
eval "$(echo "$out" | grep '^WARM2=')"

if command -v ansible >/dev/null; then
  echo "== ansible -m raw hostname, twice (ControlPersist 10m)"
  export ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=10m"
  times=()
  for run in 1 2; do
    start=$(date +%s.%N)
    ansible -i "$DIR/inv$N.ini" fleet -f "$F" -m raw -a hostname > "$DIR/warm-ansible-$run.out" 2>&1 || true
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    ok=$(grep -c 'CHANGED\|SUCCESS' "$DIR/warm-ansible-$run.out" || true)
    printf "ansible run %d: %.2fs  %s/%s ok\n" "$run" "$t" "$ok" "$N"
    times+=("$t")
  done
  printf "jobdeck warm run 2 / ansible run 2: %.3f (goal <= 0.5)\n" "$(echo "scale=4; $WARM2 / ${times[1]}" | bc)"
else
  echo "== ansible is not installed (pip install ansible-core): its arm was skipped"
fi
