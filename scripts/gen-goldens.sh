#!/usr/bin/env bash
# Regenerates the ansible goldens of the inventory compatibility corpus:
#   tests/fixtures/inventories/<case>/expected.json        ansible-inventory -i ... --list
#   tests/fixtures/inventories/<case>/expected-hosts.txt   ansible -i ... PATTERN --list-hosts
#   tests/fixtures/inventories/ordering-varies.txt         where ansible's host order is not stable
#
# Needs ansible-core on PATH (the corpus was made with 2.19.14):
#   pip install ansible-core          # or: pip install 'ansible-core==2.19.*'
#
# Usage: scripts/gen-goldens.sh [--no-cli] [CASE...]
#   --no-cli  skip the slow per-pattern `ansible --list-hosts` cross-check
#   CASE      only regenerate these cases (ordering-varies.txt is then left alone)
#
# Runs ansible with PYTHONHASHSEED=0, then with other seeds to detect host
# orders that depend on Python's set order; see scripts/ansible_hosts.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v ansible-inventory >/dev/null || {
    echo "gen-goldens: ansible-inventory not found; run: pip install ansible-core" >&2
    exit 1
}
python3 -c 'import ansible' 2>/dev/null || {
    echo "gen-goldens: python3 cannot import ansible; run: python3 -m pip install ansible-core" >&2
    exit 1
}
version="$(ansible --version)"
echo "gen-goldens: ${version%%$'\n'*}" >&2
exec python3 "$here/gen_goldens.py" "$@"
