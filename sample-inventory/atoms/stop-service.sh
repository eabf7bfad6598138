#!/bin/sh
# ---
# name: stop-service
# description: Stop the app's service on the host and wait until it is down.
# timeout: 2m
# params:
#   service: {type: string, required: true, description: the service to stop}
#   grace: {type: int, default: 10, description: seconds to wait before giving up}
# ---
# The lab hosts keep a service's state under $deploy_root/<host>/<service>
# instead of touching systemd, so the sample runs anywhere.
set -eu
dir="${deploy_root:-/tmp/jobdeck-lab}/$JOBDECK_HOST/$service"
mkdir -p "$dir"
state=$(cat "$dir/state" 2>/dev/null || echo stopped)
if [ "$state" = stopped ]; then
  echo "$service already stopped on $JOBDECK_HOST"
  exit 0
fi
echo "stopping $service on $JOBDECK_HOST (grace ${grace}s)"
echo stopping > "$dir/state"
sleep 0.2
echo stopped > "$dir/state"
echo "$service stopped"
