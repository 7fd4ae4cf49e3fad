# Answers with the wrong number of lines: two for "TWICE" (in one write),
# none for "SKIP". Other samples get one answer.
import json
import sys

for line in sys.stdin:
    sample = json.loads(line)["sample"]
    answer = json.dumps({"score": 1, "feedback": "for " + sample})
    if sample == "TWICE":
        sys.stdout.write(answer + "\n" + answer + "\n")
    elif sample == "SKIP":
        continue
    else:
        sys.stdout.write(answer + "\n")
    sys.stdout.flush()
