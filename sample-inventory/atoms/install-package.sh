#!/bin/sh
# ---
# name: install-package
# description: Unpack a fetched package as a new release and switch `current` to it.
# timeout: 5m
# params:
#   service: {type: string, required: true}
#   version: {type: string, required: true}
# ---
set -eu
base="${deploy_root:-/tmp/jobdeck-lab}/$JOBDECK_HOST/$service"
pkg="${PACKAGE:-$base/packages/$service-$version.tar}"
[ -f "$pkg" ] || { echo "package $pkg is missing: run fetch-package first" >&2; exit 2; }
release="$base/releases/$version"
mkdir -p "$release"
tar -C "$release" -xf "$pkg"
if [ -L "$base/current" ]; then
  readlink "$base/current" > "$base/previous"
fi
ln -sfn "$release" "$base/current"
echo "installed $service $version (previous: $(cat "$base/previous" 2>/dev/null || echo none))"
