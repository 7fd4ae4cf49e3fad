# Crashes on some items: "CRASH" exits with status 3 after a message on
# stderr, "SEGV" kills itself with SIGSEGV, "CLOSE" closes its stdout and
# sleeps. Other samples pass when they equal the reference.
import json
import os
import signal
import sys
import time

for line in sys.stdin:
    request = json.loads(line)
    sample = request["sample"]
    if sample == "CRASH":
        sys.stderr.write("boom: cannot judge " + request["reference"] + "\n")
        sys.stderr.flush()
        sys.exit(3)
    if sample == "SEGV":
        os.kill(os.getpid(), signal.SIGSEGV)
    if sample == "CLOSE":
        os.close(1)
        time.sleep(1000)
    ok = sample == request["reference"]
    feedback = str(os.getpid()) if request["prompt"] == "pid" else "checked"
    print(json.dumps({"score": 1 if ok else 0, "pass": ok,
                      "feedback": feedback}), flush=True)
