# Answers normally, but ignores SIGTERM and keeps running after its stdin
# ends; the feedback is its pid.
import json
import os
import signal
import sys
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
for line in sys.stdin:
    print(json.dumps({"score": 1, "feedback": str(os.getpid())}), flush=True)
while True:
    time.sleep(1000)
