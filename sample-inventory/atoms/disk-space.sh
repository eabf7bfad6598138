#!/bin/sh
# ---
# name: disk-space
# description: Fail when a filesystem is fuller than a threshold.
# params:
#   path: {type: string, default: /}
#   max_used_percent: {type: int, default: 90}
# ---
set -eu
used=$(df -P "$path" | awk 'NR==2 {sub("%", "", $5); print $5}')
echo "$path is ${used}% full (limit ${max_used_percent}%)"
[ "$used" -le "$max_used_percent" ]
