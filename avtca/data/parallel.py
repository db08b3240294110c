"""Data preparation and generation run clips on joblib's loky processes; this stops them once a job is done."""

from __future__ import annotations


def release_workers() -> None:
    """Stop joblib's reusable loky workers: idle, they hold memory in a training process and delay its exit."""
    from joblib.externals.loky import reusable_executor  # joblib loads only where clips run in parallel

    executor = reusable_executor._executor
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)
