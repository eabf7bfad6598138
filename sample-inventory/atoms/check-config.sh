#!/bin/sh
# ---
# name: check-config
# description: Validate a key=value config file before the service reads it.
# params:
#   path: {type: string, required: true}
# ---
set -eu
[ -f "$path" ] || { echo "$path: missing" >&2; exit 1; }
bad=$(grep -nvE '^[[:space:]]*(#.*)?$|^[A-Za-z_][A-Za-z0-9_.]*[[:space:]]*=' "$path" || true)
if [ -n "$bad" ]; then
  echo "$path: lines that are not key = value:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "$path: $(grep -cE '=' "$path") settings ok"
