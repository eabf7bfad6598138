#!/usr/bin/env python3
"""Regenerate the ansible goldens of tests/fixtures/inventories/ (see gen-goldens.sh)."""
import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "inventories"
HOSTS_HELPER = Path(__file__).resolve().parent / "ansible_hosts.py"
# Seeds tried beyond 0 to see whether ansible's host order is stable.
EXTRA_SEEDS = ["1", "2", "3", "42"]


def ansible_env(seed, skips=False):
    env = dict(os.environ)
    env.update(
        PYTHONHASHSEED=seed,
        ANSIBLE_NOCOLOR="1",
        # A source ansible cannot parse must fail the run, not be skipped
        # with a warning: a golden from a half-parsed corpus is worthless.
        # Cases about skipped files (they hold expected-skips.txt) let
        # ansible skip, and record what it skipped.
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="0" if skips else "1",
        ANSIBLE_INVENTORY_UNPARSED_FAILED="1",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
    )
    env.pop("ANSIBLE_CONFIG", None)
    return env


def has_skips(case):
    return (case / "expected-skips.txt").exists()


def read_lines(path):
    return [l.rstrip("\n") for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def source_args(case):
    args = []
    for source in read_lines(case / "sources"):
        args += ["-i", source]
    return args


def run(cmd, case, seed):
    env = ansible_env(seed, skips=has_skips(case))
    return subprocess.run(cmd, cwd=case, env=env, capture_output=True, text=True)


SKIPPED = re.compile(r"Unable to parse (.*) as an inventory source")
BAD_GROUP = re.compile(r"Not replacing invalid character\(s\) .* in group name \((.*)\)$")


def write_warnings(case):
    """What ansible warns about, in the order it does (each once):
    expected-skips.txt, the files it skipped (relative to the case, only for
    cases that hold one), and expected-group-warnings.txt, the group names
    with characters it warns about (left out when there are none)."""
    p = run(["ansible-inventory", *source_args(case), "--list", "-vvvv"], case, "0")
    if p.returncode != 0:
        sys.exit(f"{case.name}: ansible-inventory -vvvv failed:\n{p.stderr}")
    text = p.stdout + "\n" + p.stderr
    skipped, groups = [], []
    for line in text.splitlines():
        m = SKIPPED.search(line)
        if m:
            rel = os.path.relpath(m.group(1), case)
            if rel not in skipped:
                skipped.append(rel)
        m = BAD_GROUP.search(line.strip())
        if m and m.group(1) not in groups:
            groups.append(m.group(1))
    if has_skips(case):
        (case / "expected-skips.txt").write_text("".join(f + "\n" for f in skipped), encoding="utf-8")
    elif skipped:
        sys.exit(f"{case.name}: ansible skipped {skipped}; add expected-skips.txt if meant")
    warnings = case / "expected-group-warnings.txt"
    if groups:
        warnings.write_text("".join(g + "\n" for g in groups), encoding="utf-8")
    elif warnings.exists():
        warnings.unlink()


def list_json(case, seed):
    p = run(["ansible-inventory", *source_args(case), "--list"], case, seed)
    if p.returncode != 0:
        sys.exit(f"{case.name}: ansible-inventory failed:\n{p.stderr}")
    return p.stdout


def cli_hosts(case, pattern):
    """`ansible PATTERN --list-hosts` itself, seed 0: None when nothing matches."""
    selection = ["all", "--limit", pattern] if pattern.startswith("@") else [pattern]
    p = run(["ansible", *source_args(case), *selection, "--list-hosts"], case, "0")
    if p.returncode != 0:
        if "no hosts to target" in p.stderr or "No hosts matched" in p.stderr:
            return None
        sys.exit(f"{case.name}: ansible {pattern!r} failed:\n{p.stderr}")
    lines = p.stdout.splitlines()
    assert lines and lines[0].startswith("  hosts ("), p.stdout
    return [l.strip() for l in lines[1:]] or None


def helper_hosts(case, seed, ordered):
    sources = read_lines(case / "sources")
    cmd = [sys.executable, str(HOSTS_HELPER)] + (["--ordered"] if ordered else [])
    p = run(cmd + ["patterns.txt", *sources], case, seed)
    if p.returncode != 0:
        sys.exit(f"{case.name}: {HOSTS_HELPER.name} failed:\n{p.stderr}")
    return json.loads(p.stdout)


def patterns_of(case):
    return [l for l in read_lines(case / "patterns.txt") if not l.startswith("#")]


def write_hosts(case, selections):
    out = []
    for pattern, hosts in selections.items():
        out.append(f">>> {pattern}")
        out.extend(hosts or [])
    (case / "expected-hosts.txt").write_text("\n".join(out) + "\n", encoding="utf-8")


def regenerate(case, check_cli):
    notes = []
    golden = list_json(case, "0")
    for seed in EXTRA_SEEDS[:2]:
        if list_json(case, seed) != golden:
            notes.append(f"{case.name}: ansible-inventory --list differs with PYTHONHASHSEED={seed}")
    (case / "expected.json").write_text(golden, encoding="utf-8")
    write_warnings(case)

    if not (case / "patterns.txt").exists():
        return notes
    ordered = helper_hosts(case, "0", ordered=True)
    seen_orders = {}
    for seed in ["0"] + EXTRA_SEEDS:
        for pattern, hosts in helper_hosts(case, seed, ordered=False).items():
            seen_orders.setdefault(pattern, []).append(hosts)
    for pattern in patterns_of(case):
        runs = seen_orders[pattern]
        if check_cli:
            runs.append(cli_hosts(case, pattern))
        distinct = {json.dumps(r) for r in runs}
        if len(distinct) > 1:
            notes.append(f"{case.name}: {pattern!r}: ansible order varies "
                         f"({len(distinct)} orders seen); golden is the insertion order")
        elif runs[0] != ordered[pattern]:
            notes.append(f"{case.name}: {pattern!r}: ansible order is stable here but "
                         f"differs from the insertion order; golden is the insertion order")
        if sorted(runs[0] or []) != sorted(ordered[pattern] or []):
            sys.exit(f"{case.name}: {pattern!r}: ordered walk selected different hosts")
    write_hosts(case, ordered)
    return notes


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    ap.add_argument("--no-cli", action="store_true",
                    help="skip the per-pattern `ansible --list-hosts` runs (faster)")
    args = ap.parse_args()
    cases = sorted(p for p in CORPUS.iterdir() if (p / "sources").is_file())
    if args.cases:
        cases = [c for c in cases if c.name in args.cases]
    notes = []
    for case in cases:
        print(f"== {case.name}", file=sys.stderr)
        notes += regenerate(case, check_cli=not args.no_cli)
    if not args.cases:
        varies = CORPUS / "ordering-varies.txt"
        varies.write_text(
            "# Written by scripts/gen-goldens.sh: where ansible's own order is not\n"
            "# reproducible, expected-hosts.txt holds jobdeck's insertion order.\n"
            + "".join(n + "\n" for n in notes), encoding="utf-8")
    for n in notes:
        print(n, file=sys.stderr)


if __name__ == "__main__":
    main()
