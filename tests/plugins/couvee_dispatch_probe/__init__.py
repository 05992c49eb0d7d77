"""A plugin whose ``contact_event`` takes a little time and writes one line
per delivery (event id, contact id, process id, start and end time) into a
file next to itself, so a test can see which deliveries overlapped in time,
in which order a contact's events arrived, and which were delivered twice,
whatever process delivered them. One ``O_APPEND`` write per line: lines from
concurrent processes do not mix."""
import json
import os
import time
from pathlib import Path

from core import hookimpl

LOG = Path(__file__).parent / "deliveries.jsonl"
#: seconds each delivery takes, so that deliveries running at once overlap visibly
WORK = 0.002


@hookimpl
def contact_event(event):
    start = time.time()
    time.sleep(WORK)
    line = json.dumps({"event": event.id, "contact": event.contact_id, "pid": os.getpid(),
                       "start": start, "end": time.time()}) + "\n"
    descriptor = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)
