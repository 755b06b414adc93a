"""Timing, results and machine description shared by the benchmark suites."""

from __future__ import annotations

import gc
import os
import platform
import sqlite3
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field


def spaced(number: int) -> str:
    """An integer with its thousands separated by spaces, as the verdicts print it."""
    return f"{number:,}".replace(",", " ")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Timing:
    samples_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 95)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples_ms)


def measure(operation: Callable[[], object], *, repeat: int = 30, budget_s: float = 60.0, warmup: int = 1) -> Timing:
    """Run ``operation`` ``warmup`` times unmeasured, then up to ``repeat`` times (at least 5, at
    most ``budget_s`` seconds); returns the wall-clock samples in milliseconds."""
    for _ in range(warmup):
        operation()
    samples = []
    started = time.perf_counter()
    while len(samples) < repeat and (len(samples) < 5 or time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        operation()
        samples.append((time.perf_counter() - t0) * 1000)
    return Timing(samples)


@contextmanager
def as_served():
    """The collector as in a served process (wsgi.py): the objects alive now (the app, its modules,
    and in the bench's process what the earlier benches left) moved out of its generations for the
    block. Without it, a page or a dashboard that builds tens of thousands of objects paid full
    collections over this process's ~230 000 older objects: /formations/competences at 10 million
    accompaniments, 200 – 270 ms in process, 90 – 140 ms as served."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def measure_alternated(first: Callable[[], object], second: Callable[[], object], *, repeat: int = 30,
                       budget_s: float = 60.0, warmup: int = 1) -> tuple[Timing, Timing]:
    """:func:`measure` of two operations compared with each other, one run of each in turn: both
    sample the same moments of a shared machine (measured one after the other, a busy minute, a
    checkpoint or a collection falls on one of them only and decides a p95 ratio)."""
    for _ in range(warmup):
        first()
        second()
    samples: tuple[list[float], list[float]] = ([], [])
    started = time.perf_counter()
    while len(samples[0]) < repeat and (len(samples[0]) < 5 or time.perf_counter() - started < budget_s):
        for operation, into in ((first, samples[0]), (second, samples[1])):
            t0 = time.perf_counter()
            operation()
            into.append((time.perf_counter() - t0) * 1000)
    return Timing(samples[0]), Timing(samples[1])


@dataclass
class Results:
    """``name: value`` lines, printed as they come and kept for RESULTS.md."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    verdicts: list[tuple[str, str, str]] = field(default_factory=list)  # (target, measure, verdict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value) -> None:
        if isinstance(value, float):
            text = f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        else:
            text = str(value)
        self.lines.append((name, text))
        print(f"{name}: {text}", flush=True)

    def timing(self, name: str, timing: Timing) -> None:
        self.add(f"{name}.p50_ms", timing.p50)
        self.add(f"{name}.p95_ms", timing.p95)
        self.add(f"{name}.samples", len(timing.samples_ms))

    def ratio(self, name: str, numerator: float, denominator: float) -> float:
        value = numerator / denominator if denominator else float("inf")
        self.add(name, value)
        return value

    def verdict(self, target: str, measured: str, ok: bool | None) -> None:
        text = "atteint" if ok else ("non mesuré" if ok is None else "MANQUÉ")
        self.verdicts.append((target, measured, text))
        print(f"target: {target} — {measured} — {text}", flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"note: {text}", flush=True)


def cpu_reference_ms(iterations: int = 1_000_000, runs: int = 5) -> float:
    """The best of ``runs`` timings of a fixed pure-Python loop (``iterations`` additions): how fast
    one core of this machine runs the interpreter, printed with every run so that the absolute
    figures (the PDF in seconds, the pages in milliseconds) of two machines can be compared. The
    ratios to a baseline of the same run do not need it."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        total = 0
        for i in range(iterations):
            total += i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def machine() -> dict[str, str]:
    info = {"nproc": str(os.cpu_count())}
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    info["ram"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["load_average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["cpu_reference"] = (f"{cpu_reference_ms():.0f} ms (boucle Python fixe d'un million d'additions, meilleure de "
                             f"5 ; plus court = cœur plus rapide)")
    info["python"] = platform.python_version()
    info["sqlite"] = sqlite3.sqlite_version
    info["os"] = platform.platform()
    return info
