#!/usr/bin/env python3
"""Print, as JSON, the hosts ansible selects for each pattern of a case.

Usage: ansible_hosts.py [--ordered] PATTERNS_FILE SOURCE...   (run from the case dir)

Output: {"pattern": ["host", ...] or null when ansible matches nothing}.
A pattern `@FILE` is answered as `ansible all --limit @FILE --list-hosts`,
because ansible reads @FILE only in --limit.

It drives ansible's own InventoryManager the way `ansible PATTERN --list-hosts`
does (one call to list_hosts per pattern), so one process serves every pattern.

--ordered replaces the one nondeterministic step of ansible's host order: when
a group collects the hosts of its descendants, ansible walks the levels below
its direct children in Python set order (groups hash by object id). With
--ordered the walk is breadth first in insertion order instead: the group's
own hosts, then its children in the order they were added, then their
children in that order, level by level, skipping groups already visited.
That is the order jobdeck promises where ansible's own order varies.
"""
import json
import sys


def install_ordered_walk():
    from ansible.inventory.group import Group

    unordered_walk = Group._walk_relationship

    def walk(self, rel, include_self=False, preserve_ordering=False):
        if not preserve_ordering:
            return unordered_walk(self, rel, include_self=include_self)
        first = list(getattr(self, rel))
        ordered = ([self] if include_self else []) + first
        visited = set(ordered)
        level = first
        while level:
            next_level = []
            for group in level:
                for relative in getattr(group, rel):
                    if relative not in visited:
                        visited.add(relative)
                        next_level.append(relative)
            ordered.extend(next_level)
            level = next_level
        return ordered

    Group._walk_relationship = walk


def main(argv):
    ordered = argv[:1] == ["--ordered"]
    if ordered:
        argv = argv[1:]
        install_ordered_walk()
    patterns_file, sources = argv[0], argv[1:]
    with open(patterns_file, encoding="utf-8") as f:
        patterns = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]

    from ansible.parsing.dataloader import DataLoader
    from ansible.inventory.manager import InventoryManager
    from ansible.utils.display import Display

    Display().verbosity = 0
    inventory = InventoryManager(loader=DataLoader(), sources=sources)
    result = {}
    for pattern in patterns:
        inventory.clear_pattern_cache()
        if pattern.startswith("@"):
            # ansible reads @file only in --limit: `ansible all --limit @file`.
            inventory.subset(pattern)
            hosts = [h.name for h in inventory.list_hosts("all")]
            inventory.subset(None)
        else:
            hosts = [h.name for h in inventory.list_hosts(pattern)]
        result[pattern] = hosts or None
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1:])
