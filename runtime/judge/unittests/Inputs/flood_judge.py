# Writes 1 MiB to stderr before answering ("FLOOD") or before exiting with
# status 1 ("FLOODCRASH", whose last stderr line is "the end").
import json
import sys

for line in sys.stdin:
    sample = json.loads(line)["sample"]
    if sample in ("FLOOD", "FLOODCRASH"):
        sys.stderr.write("e" * (1 << 20) + "\n")
        sys.stderr.flush()
    if sample == "FLOODCRASH":
        sys.stderr.write("the end\n")
        sys.stderr.flush()
        sys.exit(1)
    print(json.dumps({"score": 1, "feedback": "ok"}), flush=True)
