#!/usr/bin/env python3
"""Record what Python's `re` does with each pattern of tests/fixtures/python-re/
patterns.txt on each name of names.txt, as Ansible's `~regex` host patterns
use it (`re.compile(pattern).match(name)`): expected.json, read by
tests/python_regex.rs. Run it with the Python that Ansible runs on (the
goldens were made with Python 3.11):

    python3 scripts/gen_pyre_goldens.py
"""
import json
import re
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "python-re"


def lines(name):
    text = (HERE / name).read_text(encoding="utf-8")
    return [l for l in text.split("\n") if l and not l.startswith("# ")]


def main():
    names = lines("names.txt") + ["web\n"]
    cases = []
    for pattern in lines("patterns.txt"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                compiled = re.compile(pattern)
            except (re.error, OverflowError) as e:
                cases.append({"pattern": pattern, "error": str(e)})
                continue
        cases.append({
            "pattern": pattern,
            "error": None,
            "matches": [n for n in names if compiled.match(n)],
        })
    out = {
        "python": sys.version.split()[0],
        "names": names,
        "cases": cases,
    }
    (HERE / "expected.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n",
                                        encoding="utf-8")


if __name__ == "__main__":
    main()
