#!/bin/sh
# ---
# name: rollback-release
# description: Switch back to the previous release and start it.
# timeout: 5m
# params:
#   service: {type: string, required: true}
# ---
set -eu
base="${deploy_root:-/tmp/jobdeck-lab}/$JOBDECK_HOST/$service"
if [ ! -s "$base/previous" ]; then
  echo "no previous release of $service to roll back to" >&2
  echo stopped > "$base/state"
  exit 1
fi
ln -sfn "$(cat "$base/previous")" "$base/current"
echo running > "$base/state"
echo "rolled back $service to $(cat "$base/current/VERSION")"
