#!/usr/bin/env bash
# Flow benchmark: a 3-step flow (`hostname`, `uptime`, `echo done`) on N loopback
# hosts with `jobdeck --run FLOW` against `ansible-playbook` running the same three
# steps as raw tasks, with ansible's `serial` and `forks` matched to jobdeck's
# batches and --forks. Both run back to back against the same sshd, so the ratio is
# comparable (the machine is shared and noisy).
#
# Usage: bench/flow-vs-ansible.sh [N] [F] [-r REPEAT] [--no-build] [--module raw|shell]
#   N   hosts (default 1000)     F  forks (default 64)
#   -r  repeat the pair R times and print medians (default 1)
#   --module shell  uses ansible's shell module instead of raw (slower: python on
#                   every host for every task)
# Needs root (the fleet), ansible-core (`pip install ansible-core`).
# Exit code: 0 if jobdeck met the target (<= 0.25 x ansible-playbook), 1 if not,
# 2 if a run failed.
set -euo pipefail

. "$(dirname "$0")/shared.sh"
DIR=${BENCH_DIR:-/tmp/bench}
N=1000 F=64 REPEAT=1 BUILD=1 MODULE=raw
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    -r|--repeat) REPEAT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --module) MODULE=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -ge 1 ] && N=${positional[0]}
[ ${#positional[@]} -ge 2 ] && F=${positional[1]}
MAX_RATIO=0.25

command -v ansible-playbook >/dev/null || pip install -q ansible-core
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc; }

"$SHARED/sshd-fleet.sh" "$N" >/dev/null

# jobdeck checks host keys against the fleet's wildcard known_hosts line; ansible
# uses the shared inventory (host key checking off, as peers.sh runs it).
INV=$("$(dirname "$0")/fleet-inventory.sh" "$N")

# One batch of every host, F at a time, each host walking its three steps.
FLOW=$DIR/flow3.yml
cat > "$FLOW" <<YAML
name: bench-three-steps
description: Three shell commands per host, for the flow benchmark.
targets: fleet
rollout:
  batches: "100%"
  forks: $F
steps:
  - name: hostname
    command: hostname
  - name: uptime
    command: uptime
  - name: done
    command: echo done
YAML

# The same steps for ansible: one play, serial = every host (one batch), forks = F.
PLAYBOOK=$DIR/flow3-playbook.yml
cat > "$PLAYBOOK" <<YAML
- name: bench-three-steps
  hosts: fleet
  gather_facts: false
  serial: "100%"
  tasks:
    - name: hostname
      $MODULE: hostname
    - name: uptime
      $MODULE: uptime
    - name: done
      $MODULE: echo done
YAML

if [ "$BUILD" = 1 ]; then
  (cd "$REPO" && CARGO_INCREMENTAL=0 cargo build --release --quiet)
fi
BIN=$REPO/target/release/jobdeck
[ -x "$BIN" ] || { echo "flow-vs-ansible: $BIN missing" >&2; exit 2; }
JOURNAL=$DIR/flow-journal.db

now() { date +%s.%N; }
CP_DIR=$DIR/ansible-cp
mkdir -p "$CP_DIR"
# Ends the ssh ControlPersist masters ansible left behind (outside the timing), so
# they do not hold sshd sessions during the next run.
close_masters() {
  find "$CP_DIR" -type s -print0 | xargs -0 -r -P 16 -I{} ssh -o ControlPath={} -O exit dummy >/dev/null 2>&1 || true
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }

status=0
: > "$DIR/flow-results.$$"
for run in $(seq 1 "$REPEAT"); do
  [ "$REPEAT" -gt 1 ] && echo "== run $run of $REPEAT (N=$N F=$F)"

  rm -f "$JOURNAL" "$JOURNAL-wal" "$JOURNAL-shm"
  s=$(now)
  set +e
  "$BIN" --run "$FLOW" -i "$INV" --forks "$F" --journal "$JOURNAL" > "$DIR/flow-jobdeck.out" 2> "$DIR/flow-jobdeck.err"
  jrc=$?
  set -e
  jwall=$(echo "$(now) - $s" | bc)
  summary=$(grep -E '^[0-9]+ hosts?: ' "$DIR/flow-jobdeck.out" | tail -1 || true)
  dones=$(grep -cE '^done$' "$DIR/flow-jobdeck.out" || true)
  if [ $jrc -ne 0 ] || ! echo "$summary" | grep -qE "^$N hosts?: $N ok in " || [ "$dones" -ne "$N" ]; then
    echo "flow-vs-ansible: jobdeck did not succeed on all $N hosts (exit $jrc, $dones x 'done'): ${summary:-no summary}" >&2
    head -5 "$DIR/flow-jobdeck.err" >&2
    status=2
  fi

  s=$(now)
  set +e
  # ansible's default ssh_args (ControlPersist=60s) reuse one connection per host
  # across the three tasks, as jobdeck does; the control sockets go to our own dir
  # so the masters can be closed after the run.
  ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_SSH_CONTROL_PATH_DIR="$CP_DIR" \
    ansible-playbook -i "$DIR/inv$N.ini" -f "$F" "$PLAYBOOK" > "$DIR/flow-ansible.out" 2>&1
  arc=$?
  set -e
  awall=$(echo "$(now) - $s" | bc)
  close_masters
  recap_ok=$(grep -cE ' : ok=3 .*failed=0' "$DIR/flow-ansible.out" || true)
  if [ $arc -ne 0 ] || [ "$recap_ok" -ne "$N" ]; then
    echo "flow-vs-ansible: ansible-playbook did not succeed on all $N hosts (exit $arc, $recap_ok hosts ok=3)" >&2
    grep -E 'UNREACHABLE|FAILED|ERROR' "$DIR/flow-ansible.out" | head -5 >&2
    status=2
  fi
  ratio=$(echo "scale=4; $jwall / $awall" | bc)
  printf "jobdeck flow      N=%s F=%s wall=%.2fs  exit %s  %s\n" "$N" "$F" "$jwall" "$jrc" "$summary"
  printf "ansible-playbook  N=%s F=%s wall=%.2fs  exit %s  (%s hosts ok=3, module %s)\n" "$N" "$F" "$awall" "$arc" "$recap_ok" "$MODULE"
  printf "ratio jobdeck / ansible-playbook = %.3f\n" "$ratio"
  echo "$jwall $awall $ratio" >> "$DIR/flow-results.$$"
done

jw=$(awk '{print $1}' "$DIR/flow-results.$$" | median)
aw=$(awk '{print $2}' "$DIR/flow-results.$$" | median)
ratio=$(awk '{print $3}' "$DIR/flow-results.$$" | median)
rm -f "$DIR/flow-results.$$"
echo
what=$([ "$REPEAT" -gt 1 ] && echo "medians of $REPEAT runs, each ratio within its own run" || echo "one run")
echo "== 3-step flow, N=$N F=$F ($what)"
printf "jobdeck %.2fs, ansible-playbook %.2fs, ratio %.3f (target <= %s) %s\n" "$jw" "$aw" "$ratio" $MAX_RATIO \
  "$([ "$(echo "$ratio <= $MAX_RATIO" | bc)" = 1 ] && echo ok || echo MISSED)"
if [ $status -ne 0 ]; then
  echo "flow-vs-ansible: a run failed; the numbers above are not valid" >&2
  exit $status
fi
[ "$(echo "$ratio <= $MAX_RATIO" | bc)" = 1 ]
