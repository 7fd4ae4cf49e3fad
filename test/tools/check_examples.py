#!/usr/bin/env python3
"""Every example and stdlib file passes `ftl check` and is already in
canonical form (`ftl fmt --check`), so formatting it changes nothing."""
import glob
import os
import subprocess
import sys

root = sys.argv[1]
files = sorted(glob.glob(os.path.join(root, "examples", "**", "*.ftl"), recursive=True) +
               glob.glob(os.path.join(root, "stdlib", "**", "*.ftl"), recursive=True))
if len(files) < 7:
    sys.exit("error: expected the examples and the stdlib, found %d files" % len(files))
failed = []
for path in files:
    for cmd in (["ftl", "check", "--werror", "--no-warn-unused", path],
                ["ftl", "fmt", "--check", path]):
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            failed.append(" ".join(cmd) + "\n" + result.stdout + result.stderr)
for f in failed:
    print("FAILED:", f)
print("%d files checked, %d failures" % (len(files), len(failed)))
sys.exit(1 if failed else 0)
