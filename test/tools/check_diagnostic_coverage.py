#!/usr/bin/env python3
"""Fails when a diagnostic kind in DiagnosticKinds.def has no test.

A kind is covered when some test under test/ expects it:
- errors and warnings print their stable name, so an `expected-error` or
  `expected-warning` line must contain `[name]`;
- notes print no name, so an `expected-note` line must contain the note's
  fixed text (the format up to its first placeholder).
"""
import os
import re
import sys

root = sys.argv[1]
kinds_file = os.path.join(root, "lang/include/ftl/Lang/DiagnosticKinds.def")
pattern = re.compile(r'^DIAG\((\w+),\s*(\w+),\s*"([^"]+)",\s*"(.*)"\)\s*$')
kinds = []
for line in open(kinds_file, encoding="utf-8"):
    m = pattern.match(line.strip())
    if m:
        kinds.append((m.group(2), m.group(3), m.group(4)))
if len(kinds) < 10:
    sys.exit("error: could not read the diagnostic registry at " + kinds_file)

expectations = []
for dirpath, _, files in os.walk(os.path.join(root, "test")):
    for name in files:
        if not name.endswith((".ftl", ".mlir", ".test")):
            continue
        with open(os.path.join(dirpath, name), encoding="utf-8") as f:
            for line in f:
                m = re.search(r"expected-(error|warning|note)[^{]*\{\{(.*)\}\}", line)
                if m:
                    expectations.append((m.group(1), m.group(2)))

missing = []
for severity, name, fmt in kinds:
    if severity == "Note":
        fixed = fmt.split("{")[0].strip()
        covered = any(s == "note" and e.startswith(fixed) for s, e in expectations)
    else:
        covered = any(s != "note" and "[" + name + "]" in e for s, e in expectations)
    if not covered:
        missing.append(name)

if missing:
    print("diagnostic kinds without a test: " + ", ".join(missing))
    sys.exit(1)
print("all %d diagnostic kinds are covered by tests" % len(kinds))
