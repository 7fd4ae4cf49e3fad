# Hangs on "HANG"; on "HANGKIDS" starts a grandchild (sleep) that would
# outlive it, says its pid on stderr, and hangs. Other samples pass.
import json
import subprocess
import sys
import time

for line in sys.stdin:
    request = json.loads(line)
    sample = request["sample"]
    if sample == "HANGKIDS":
        child = subprocess.Popen(["sleep", "1000"])
        sys.stderr.write("grandchild %d\n" % child.pid)
        sys.stderr.flush()
        time.sleep(1000)
    if sample == "HANG":
        time.sleep(1000)
    print(json.dumps({"score": 1, "feedback": "quick"}), flush=True)
