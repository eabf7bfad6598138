#!/usr/bin/env bash
# Runs every jobdeck test. Installs what the tests need first (OpenSSH's sshd
# and client tools, tmux), so it works on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# sshd and the client tools for the SSH tests, tmux for the console's
# end-to-end test, ps/pkill (procps) to prove no process is left behind,
# useradd/chpasswd (passwd) for the password-login user, sudo for run_as,
# the sqlite3 command-line tool for the tests of other clients sharing the journal.
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v ssh-agent >/dev/null || need+=(openssh-client)
command -v tmux >/dev/null || need+=(tmux)
command -v pkill >/dev/null || need+=(procps)
command -v chpasswd >/dev/null || need+=(passwd)
command -v sudo >/dev/null || need+=(sudo)
command -v python3 >/dev/null || need+=(python3)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Benchmarks (benches/, bench/) are built by clippy but not run here.
cargo test "$@"
