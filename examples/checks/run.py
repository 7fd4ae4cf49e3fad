#!/usr/bin/env python3
"""An example judge for `exec(...)`: reads JSON lines on stdin, one item each
({"prompt", "sample", "reference"}), and writes one JSON line per item:
{"score": 0 or 1, "pass": bool, "feedback": text}. The answer passes when it
equals the sum asked for in the prompt (or the reference, when given)."""
import json
import re
import sys

for line in sys.stdin:
    item = json.loads(line)
    prompt = item.get("prompt", "")
    answer = item.get("sample", item.get("response", "")).strip()
    expected = item.get("reference")
    if not expected:
        m = re.match(r"\s*(\d+)\+(\d+)=", prompt)
        expected = str(int(m.group(1)) + int(m.group(2))) if m else ""
    ok = answer == str(expected).strip()
    feedback = "correct" if ok else f"expected {expected}, got {answer!r}"
    print(json.dumps({"score": 1.0 if ok else 0.0, "pass": ok, "feedback": feedback}), flush=True)
