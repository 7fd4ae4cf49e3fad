# Takes 0.3 s per item; the feedback is "pid start end" (wall-clock seconds).
import json
import os
import sys
import time

for line in sys.stdin:
    json.loads(line)
    start = time.time()
    time.sleep(0.3)
    end = time.time()
    print(json.dumps({"score": 1, "feedback": "%d %.6f %.6f" % (
        os.getpid(), start, end)}), flush=True)
