#!/usr/bin/env python3
"""A judge that misbehaves on purpose, by prompt: CRASH exits at once, HANG
never answers, GARBAGE prints a line that is not JSON; every other item
passes. It also records every prompt it receives, byte for byte, so the test
can check that hostile text arrived intact and was never executed."""
import json
import os
import sys
import time

log = open(os.environ.get("UNRULY_LOG", "received.jsonl"), "a")
for line in sys.stdin:
    item = json.loads(line)
    prompt = item.get("prompt", "")
    log.write(json.dumps(prompt) + "\n")
    log.flush()
    if prompt.startswith("CRASH"):
        sys.exit(3)
    if prompt.startswith("HANG"):
        time.sleep(1000)
    if prompt.startswith("GARBAGE"):
        print("this is not json", flush=True)
        continue
    print(json.dumps({"score": 1, "pass": True, "feedback": "ok"}), flush=True)
