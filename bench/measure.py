"""Measure one command: wall time, CPU time and peak memory of its whole process tree."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from dataclasses import asdict, dataclass

import psutil

from ingestion.config import child_environment


@dataclass
class Measurement:
    step: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    rows: int | None = None
    note: str = ""
    completed: bool = True
    profile: dict | None = None  # where a dbt step's time went (bench.run.dbt_profile)

    def as_dict(self) -> dict:
        return asdict(self)


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    try:
        processes = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += member.memory_info().rss
    return total


def _kill_tree(process: psutil.Process) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        members = [*process.children(recursive=True), process]
        for member in members:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.kill()


def run_measured(
    step: str,
    argv: list[str],
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    memory_limit_mb: float | None = None,
) -> Measurement:
    """Run `argv` to completion, sampling the RSS of its process tree every 50 ms.

    With `memory_limit_mb`, a tree that grows past it is killed and the measurement says so
    (`completed=False`): a step that would exhaust the machine is reported, not waited for.
    """
    before = os.times()
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=child_environment(**(env or {})), cwd=cwd)
    watched = psutil.Process(process.pid)
    peak = 0
    stopped = False
    while process.poll() is None:
        peak = max(peak, _tree_rss(watched))
        if memory_limit_mb is not None and peak > memory_limit_mb * 2**20:
            _kill_tree(watched)
            process.wait()
            stopped = True
            break
        time.sleep(0.05)
    wall = time.perf_counter() - started
    after = os.times()
    if process.returncode != 0 and not stopped:
        raise RuntimeError(f"benchmark step {step!r} failed with exit code {process.returncode}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    measurement = Measurement(step=step, wall_s=wall, cpu_s=cpu, peak_rss_mb=peak / 2**20)
    if stopped:
        measurement.completed = False
        measurement.note = (
            f"stopped after {wall:.0f} s: memory passed the {memory_limit_mb / 1024:.1f} GB limit"
        )
    return measurement
