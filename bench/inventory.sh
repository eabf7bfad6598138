#!/usr/bin/env bash
# Inventory speed: jobdeck vs ansible-inventory on a 10,000-host inventory
# (100 apps x 100-host ranges, project -> cluster -> app children, vars at
# every level, group_vars/ and host_vars/), in INI and YAML forms.
#
#   bench/inventory.sh            build release jobdeck, generate, check, time
#   bench/inventory.sh --no-build use the existing target/release/jobdeck
#
# Needs: python3, ansible-core (`pip install ansible-core`), hyperfine.
# Env: BENCH_DIR (default target/bench-inventory), ANSIBLE_RUNS (default 3),
#      JOBDECK_RUNS (default 30). Takes about a minute.
# Goal (issue 2): jobdeck at least 50x faster than ansible-inventory.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
out="${BENCH_DIR:-$repo/target/bench-inventory}"
ansible_runs="${ANSIBLE_RUNS:-3}"
jobdeck_runs="${JOBDECK_RUNS:-30}"
jobdeck="$repo/target/release/jobdeck"

for tool in python3 ansible-inventory hyperfine; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 1; }
done
if [[ "${1:-}" != "--no-build" ]]; then
    cargo build --release --quiet
fi

rm -rf "$out"
mkdir -p "$out"
python3 bench/gen_inventory.py "$out"
export PYTHONHASHSEED=0 ANSIBLE_NOCOLOR=1 ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=1

status=0
summary=()
for form in ini yaml; do
    src="$out/$form/hosts.$([[ $form == ini ]] && echo ini || echo yml)"
    echo "== $form: $src ($(grep -c . "$src") lines)"

    ansible-inventory -i "$src" --list >"$out/$form.ansible.json"
    jobdeck_ok=1
    if ! "$jobdeck" -i "$src" inventory list --json >"$out/$form.jobdeck.json" 2>"$out/$form.jobdeck.err"; then
        jobdeck_ok=0
        echo "jobdeck failed on $form: $(head -c 300 "$out/$form.jobdeck.err")"
        status=1
    elif cmp -s "$out/$form.ansible.json" "$out/$form.jobdeck.json"; then
        echo "outputs identical ($(wc -c <"$out/$form.ansible.json") bytes)"
    else
        echo "OUTPUTS DIFFER (first lines of the diff):"
        diff -u "$out/$form.ansible.json" "$out/$form.jobdeck.json" | head -30 || true
        status=1
    fi

    cmds=(-n ansible-inventory "ansible-inventory -i '$src' --list")
    if [[ $jobdeck_ok == 1 ]]; then
        cmds+=(-n jobdeck "'$jobdeck' -i '$src' inventory list --json")
    fi
    # Two runs of hyperfine so each tool gets a sensible number of runs.
    hyperfine --style basic --warmup 1 --runs "$ansible_runs" --output=null \
        --export-json "$out/$form.ansible.bench.json" "${cmds[@]:0:3}"
    if [[ $jobdeck_ok == 1 ]]; then
        hyperfine --style basic --warmup 3 --runs "$jobdeck_runs" --output=null \
            --export-json "$out/$form.jobdeck.bench.json" "${cmds[@]:3:3}"
    fi
    summary+=("$(python3 - "$form" "$out/$form.ansible.bench.json" "$out/$form.jobdeck.bench.json" <<'PY'
import json, os, sys
form, ansible_file, jobdeck_file = sys.argv[1:]
ar = json.load(open(ansible_file))["results"][0]
a = ar["median"]
# Wall time suffers on a busy machine; user CPU time shows the work itself.
line = f"{form}: ansible-inventory median {a:.3f} s (user CPU {ar['user']:.2f} s)"
if os.path.exists(jobdeck_file):
    jr = json.load(open(jobdeck_file))["results"][0]
    j = jr["median"]
    verdict = "meets" if a / j >= 50 else "MISSES"
    line += f", jobdeck median {j * 1000:.1f} ms (user CPU {jr['user'] * 1000:.1f} ms), ratio {a / j:.1f}x ({verdict} the 50x goal)"
else:
    line += ", jobdeck: no timing (it failed)"
print(line)
PY
)")
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
if cmp -s "$out/ini.ansible.json" "$out/yaml.ansible.json"; then
    echo "(ansible prints the same document for the INI and YAML forms)"
fi
exit $status
