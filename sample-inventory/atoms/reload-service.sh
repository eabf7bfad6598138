#!/bin/sh
# ---
# name: reload-service
# description: Ask the running service to re-read its configuration.
# params:
#   service: {type: string, required: true}
# ---
set -eu
base="${deploy_root:-/tmp/jobdeck-lab}/$JOBDECK_HOST/$service"
mkdir -p "$base"
date +%s > "$base/reloaded_at"
echo "$service reloaded its configuration"
