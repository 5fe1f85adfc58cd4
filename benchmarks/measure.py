"""Timing and leak checking for the benchmarks: plain functions, tested in tests/benchmarks."""

import re
import statistics
import time

JOB_LINK = re.compile(r'href="/jobs/([0-9]+)/"')


def percentile(samples, fraction):
    """The `fraction` percentile (0..1) of `samples`, nearest rank."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def summary(samples):
    """(median, p95) of millisecond samples."""
    return statistics.median(samples), percentile(samples, 0.95)


def paired_spread(numerators, denominators):
    """(25th, 75th percentile) of the ratios numerator / denominator round by round. `timed`
    runs both back to back in each round, so the spread is what this shared machine does to a
    ratio within one run, which the ratio of two medians does not show."""
    ratios = [n / d for n, d in zip(numerators, denominators, strict=True)]
    return percentile(ratios, 0.25), percentile(ratios, 0.75)


def timed(functions, repeat):
    """Millisecond samples of each function, run in alternation round by round, so that noise
    from other processes on a shared machine falls on all of them alike."""
    samples = [[] for _ in functions]
    for function in functions:
        function()  # warm the caches and the plans
    for _ in range(repeat):
        for function, times in zip(functions, samples, strict=True):
            started = time.perf_counter()
            function()
            times.append((time.perf_counter() - started) * 1000)
    return samples


def job_ids_in(html):
    """The job ids a page links to (the list's rows link to /jobs/<id>/)."""
    return [int(pk) for pk in JOB_LINK.findall(html)]


def leaked(may_see, ids):
    """The ids in `ids` that `may_see(id)` refuses; an id it cannot judge counts as leaked."""
    out = []
    for pk in ids:
        try:
            allowed = may_see(pk)
        except KeyError:
            allowed = False
        if not allowed:
            out.append(pk)
    return out
