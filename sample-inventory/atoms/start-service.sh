#!/bin/sh
# ---
# name: start-service
# description: Start the app's service and wait until it reports running.
# timeout: 2m
# params:
#   service: {type: string, required: true}
# ---
set -eu
base="${deploy_root:-/tmp/jobdeck-lab}/$JOBDECK_HOST/$service"
[ -x "$base/current/run.sh" ] || { echo "no release installed for $service" >&2; exit 3; }
echo starting > "$base/state"
"$base/current/run.sh"
echo running > "$base/state"
echo "$service running $(cat "$base/current/VERSION")"
