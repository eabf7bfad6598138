#!/usr/bin/env bash
# Writes jobdeck's inventory of the loopback fleet (../shared/bench/sshd-fleet.sh N
# must have run) and prints its path. Host keys are checked against the fleet's
# wildcard known_hosts line (never StrictHostKeyChecking=no for jobdeck).
# Usage: bench/fleet-inventory.sh N   (BENCH_DIR as in ../shared/bench)
set -euo pipefail
DIR=${BENCH_DIR:-/tmp/bench}; N=$1
[ -s "$DIR/known_hosts" ] || { echo "fleet-inventory: $DIR/known_hosts missing" >&2; exit 2; }
INV=$DIR/jobdeck-inv$N.ini
{
  echo "[fleet]"
  cat "$DIR/hosts$N.txt"
  echo "[fleet:vars]"
  echo "ansible_port=2222"
  echo "ansible_user=bench"
  echo "ansible_ssh_private_key_file=$DIR/sshd/client_ed25519"
  echo "ansible_ssh_common_args='-o UserKnownHostsFile=$DIR/known_hosts'"
} > "$INV"
echo "$INV"
