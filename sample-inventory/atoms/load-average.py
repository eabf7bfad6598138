#!/usr/bin/env python3
# ---
# name: load-average
# description: Fail when the 1-minute load per CPU is above a limit.
# params:
#   max_load_per_cpu: {type: string, default: "4.0"}
# ---
import os
import sys

load1, _, _ = os.getloadavg()
cpus = os.cpu_count() or 1
limit = float(os.environ.get("max_load_per_cpu", "4.0"))
per_cpu = load1 / cpus
print(f"load {load1:.2f} on {cpus} cpus = {per_cpu:.2f} per cpu (limit {limit})")
sys.exit(0 if per_cpu <= limit else 1)
