# Answers with something that is not a valid answer, chosen by the sample.
import json
import sys
import time

for line in sys.stdin:
    sample = json.loads(line)["sample"]
    out = sys.stdout
    if sample == "text":
        out.write("hello there\n")
    elif sample == "array":
        out.write("[1, 2]\n")
    elif sample == "noscore":
        out.write('{"pass": true}\n')
    elif sample == "badscore":
        out.write('{"score": "high"}\n')
    elif sample == "badpass":
        out.write('{"score": 1, "pass": "yes"}\n')
    elif sample == "badfeedback":
        out.write('{"score": 1, "feedback": 3}\n')
    elif sample == "empty":
        out.write("\n")
    elif sample == "nan":
        out.write(json.dumps({"score": float("nan")}) + "\n")
    elif sample == "huge":
        out.write("x" * (2 << 20))
        out.flush()
        time.sleep(1000)
    elif sample == "partial":
        out.write('{"score": 1')
        out.flush()
        time.sleep(1000)
    else:
        out.write(json.dumps({"score": 1, "feedback": "fine"}) + "\n")
    out.flush()
