#!/bin/sh
# ---
# name: fetch-package
# description: Fetch the release package of a version into the host's package cache.
# timeout: 5m
# params:
#   service: {type: string, required: true}
#   version: {type: string, required: true, description: "release to fetch, e.g. 1.4.2"}
# ---
# A real atom would curl from a package server; the lab builds the package
# locally so the sample needs no network.
set -eu
cache="${deploy_root:-/tmp/jobdeck-lab}/$JOBDECK_HOST/$service/packages"
mkdir -p "$cache"
pkg="$cache/$service-$version.tar"
if [ -f "$pkg" ]; then
  echo "package $service-$version already cached"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "$version" > "$work/VERSION"
  printf '#!/bin/sh\necho "%s %s serving"\n' "$service" "$version" > "$work/run.sh"
  chmod 755 "$work/run.sh"
  tar -C "$work" -cf "$pkg" VERSION run.sh
  echo "fetched $service-$version"
fi
sum=$(sha256sum "$pkg" | cut -d' ' -f1)
echo "sha256 $sum"
echo "::set PACKAGE=$pkg"
