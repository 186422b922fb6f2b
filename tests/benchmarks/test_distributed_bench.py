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
