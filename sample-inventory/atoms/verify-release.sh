#!/bin/sh
# ---
# name: verify-release
# description: Check that the service runs the expected version.
# timeout: 1m
# params:
#   service: {type: string, required: true}
#   version: {type: string, required: true}
# ---
set -eu
base="${deploy_root:-/tmp/jobdeck-lab}/$JOBDECK_HOST/$service"
state=$(cat "$base/state" 2>/dev/null || echo missing)
running=$(cat "$base/current/VERSION" 2>/dev/null || echo none)
echo "state=$state version=$running"
if [ "$state" != running ] || [ "$running" != "$version" ]; then
  echo "verify failed: expected $service $version running" >&2
  exit 1
fi
echo "verified $service $version"
