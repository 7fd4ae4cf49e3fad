# Answers one request and exits (a protocol error: the host restarts it for
# the next item). The feedback is the sample.
import json
import sys

request = json.loads(sys.stdin.readline())
print(json.dumps({"score": 1, "feedback": request["sample"]}), flush=True)
