# A well-behaved judge: passes when sample and reference agree after strip().
# The prompt selects a few answer shapes the protocol allows.
import json
import sys

for line in sys.stdin:
    request = json.loads(line)
    sample, reference = request["sample"], request["reference"]
    mode = request["prompt"]
    ok = sample.strip() == reference.strip()
    answer = {"score": 1.0 if ok else 0.0, "pass": ok,
              "feedback": "match" if ok else "expected " + reference}
    if mode == "score-only":
        answer = {"score": float(sample)}
    elif mode == "null-fields":
        answer = {"score": 2, "pass": None, "feedback": None}
    elif mode == "extra-keys":
        answer["extra"] = [1, 2, {"x": None}]
    elif mode == "pass-overrides":
        answer = {"score": 5, "pass": False, "feedback": "low"}
    print(json.dumps(answer), flush=True)
