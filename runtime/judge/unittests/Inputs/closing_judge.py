# Closes its stdin before reading anything, waits, and exits without an
# answer (writes to it fail with EPIPE).
import os
import time

os.close(0)
time.sleep(0.5)
