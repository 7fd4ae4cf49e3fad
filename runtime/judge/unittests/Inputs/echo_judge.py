# Echoes what it received. The feedback is a JSON object with the three
# fields, the program's arguments and working folder, and whether the request
# line was pure ASCII. With --summary it sends UTF-8 byte counts and SHA-256
# digests instead of the texts (for large items). With --process it sends its
# open file descriptors and its blocked and ignored signal masks.
import hashlib
import json
import os
import sys

summary = "--summary" in sys.argv[1:]
process = "--process" in sys.argv[1:]
for raw in sys.stdin.buffer:
    request = json.loads(raw)
    if process:
        fds = sorted(int(name) for name in os.listdir("/proc/self/fd"))
        status = dict(line.rstrip("\n").split(":\t", 1)
                      for line in open("/proc/self/status"))
        info = {"fds": fds, "blocked": int(status["SigBlk"], 16),
                "ignored": int(status["SigIgn"], 16)}
    elif summary:
        info = {}
        for key in ("prompt", "sample", "reference"):
            data = request[key].encode("utf-8")
            info[key] = [len(data), hashlib.sha256(data).hexdigest()]
    else:
        info = {key: request[key] for key in ("prompt", "sample", "reference")}
        info["argv"] = sys.argv[1:]
        info["cwd"] = os.getcwd()
        info["ascii"] = all(byte < 0x80 for byte in raw)
        info["keys"] = sorted(request.keys())
    print(json.dumps({"score": 1, "pass": True, "feedback": json.dumps(info)}),
          flush=True)
