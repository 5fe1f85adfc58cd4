"""
The CSV export's rows of `make bench`: one process per measurement, so that its peak memory is
the export's and nothing else's.

    python -m benchmarks.export USERNAME

With the environment of the benchmark's database (DATABASE_URL decides RLS on or off), it signs
USERNAME in through Django's test client, streams the whole of /jobs/export.csv and prints one
JSON line: rows, bytes, seconds, and the process's peak resident memory (ru_maxrss, KiB) twice:
once set up (Django, the signed-in client, a first export that matches nothing, the response's
headers and first chunk) and once the whole export has streamed; then, in a second pass
under tracemalloc, the peak of the Python heap over the whole request. Flat memory: the growth
of the first and the heap peak of the second stay the same however many rows stream.
"""

import json
import resource
import sys
import time
import tracemalloc

NOTHING = "/jobs/export.csv?q=matches-no-job-at-all"


def peak_kib():
    """The peak resident memory of this process so far (Linux counts it in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def stream(client, path):
    """(rows, bytes, the peak memory once the first chunk arrived) of one streamed export."""
    response = client.get(path)
    if response.status_code != 200 or not response.streaming:
        raise RuntimeError(f"{path}: HTTP {response.status_code}, streaming={response.streaming}")
    lines = size = 0
    set_up = None
    for chunk in response.streaming_content:
        if set_up is None:
            set_up = peak_kib()
        lines += chunk.count(b"\n")
        size += len(chunk)
    return lines - 1, size, set_up  # the header line is not a job


def measure(username):
    """The export of everything `username` may see, as the JSON-ready dict described above."""
    import django

    django.setup()
    from django.db.models import QuerySet
    from django.test import Client

    from divisions.models import User
    from divisions.scoping import unscoped

    with unscoped("benchmark: the exporting user"):
        user = QuerySet(User).get(username=username)
    client = Client()
    client.force_login(user)
    if stream(client, NOTHING)[0] != 0:
        raise RuntimeError(f"{NOTHING} exported rows")
    started = time.perf_counter()
    rows, size, set_up = stream(client, "/jobs/export.csv")
    seconds = time.perf_counter() - started
    peak = peak_kib()
    # Apart from the timed pass: tracing every allocation slows the export down.
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    stream(client, "/jobs/export.csv")
    heap_peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return {"rows": rows, "bytes": size, "seconds": seconds, "set_up_kib": set_up,
            "peak_kib": peak, "heap_peak_kib": heap_peak / 1024}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
