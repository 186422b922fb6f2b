"""benchmarks/distributed.py's report: measured rows, a Dask-only run, and a failed (over-limit) run all render."""

from __future__ import annotations

from benchmarks.distributed import table


def test_the_table_shows_measured_skipped_and_failed_runs():
    measured = {"seconds": 20.5, "best_iteration": 99, "worker_peak_rss_mib": [414.2, 420.7], "worker_limit_mib": 2048,
                "driver_peak_rss_mib": 300.0, "restarted_workers": []}  # fmt: skip
    rows = [
        {"rows": 1_000_000, "single": {"seconds": 15.3, "peak_rss_mib": 337.0}, "distributed": measured},
        {"rows": 30_000_000, "single": None, "distributed": {**measured, "restarted_workers": ["tcp://w1"]}},
        {"rows": 60_000_000, "single": None, "distributed": {"error": "KilledWorker: worker exceeded its memory"}},
    ]
    lines = table(rows).splitlines()
    assert lines[2] == "| 1,000,000 | 15.3 s, 337 | 20.5 s | 414 / 421 (limit 2048) | 300 |"
    assert "| 30,000,000 | not run |" in lines[3] and "1 restarted" in lines[3]
    assert lines[4].startswith("| 60,000,000 | not run | failed: KilledWorker")


def _fake_trial(limit: int):
    """A trial that trains up to ``limit`` rows and fails above it, recording each size asked for."""
    asked = []

    def run_trial(rows):
        asked.append(rows)
        failed = {"error": "KilledWorker"} if rows > limit else {"restarted_workers": []}
        return {"rows": rows, "single": None, "distributed": failed}

    return run_trial, asked


def test_bisect_closes_in_on_the_largest_size_that_trains():
    from benchmarks.distributed import bisect

    run_trial, asked = _fake_trial(2_600_000)
    largest, failed, trials = bisect(500_000, 8_000_000, 250_000, run_trial)
    assert (largest, failed) == (2_500_000, 2_750_000)
    assert asked[:2] == [500_000, 8_000_000] and all(r % 250_000 == 0 for r in asked)
    assert len(trials) == len(asked) <= 8  # halving, not a sweep


def test_bisect_reports_when_even_the_ends_fail_or_train():
    from benchmarks.distributed import bisect

    assert bisect(1_000_000, 4_000_000, 250_000, _fake_trial(10)[0])[:2] == (None, 1_000_000)
    assert bisect(1_000_000, 4_000_000, 250_000, _fake_trial(10**9)[0])[:2] == (4_000_000, None)


def test_a_restarted_worker_counts_as_a_failed_trial():
    from benchmarks.distributed import trained

    assert trained({"distributed": {"restarted_workers": []}})
    assert not trained({"distributed": {"restarted_workers": ["tcp://w1"]}})
    assert not trained({"distributed": {"error": "KilledWorker"}})


def test_a_child_reports_its_own_peak_memory_not_the_parent_s():
    """A worker is started by a driver that may have held far more (the ingested table): the worker's peak must be
    its own. ru_maxrss carries the parent's peak across fork and exec; VmHWM does not."""
    import subprocess
    import sys

    parent = (
        "import subprocess, sys\n"
        "block = bytearray(400 * 1024 * 1024)\n"  # the parent touches 400 MiB (zero pages count once written)
        "block[::4096] = b'x' * len(block[::4096])\n"
        "del block\n"
        "print(subprocess.run([sys.executable, '-c', 'from benchmarks.distributed import _peak_rss_mib; "
        "print(_peak_rss_mib())'], capture_output=True, text=True, check=True).stdout)\n"
    )
    out = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, check=True).stdout
    assert float(out.split()[-1]) < 300, out
