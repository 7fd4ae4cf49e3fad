# Allocates 1 GiB on "BIG" (more than the tests' memory limit).
import json
import sys

for line in sys.stdin:
    sample = json.loads(line)["sample"]
    if sample == "BIG":
        block = bytearray(1 << 30)
        block[-1] = 1
    print(json.dumps({"score": 1, "feedback": "small"}), flush=True)
