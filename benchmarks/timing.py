"""Interleaved timing: every variant of a workload runs once per round, in shuffled order."""

from __future__ import annotations

import asyncio
import gc
import inspect
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# A variant is run() or (prepare, run): prepare() is untimed and its return value is passed to run().
Variant = Callable[[], Any] | tuple[Callable[[], Any], Callable[[Any], Any]]


@dataclass
class Measurement:
    """Timings of one variant of one workload."""

    variant: str
    seconds: list[float] = field(default_factory=list)
    result: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class WorkloadResult:
    """All variants of one workload; ``reference`` names the variant ratios are taken against."""

    name: str
    reference: str
    unit: str
    measurements: dict[str, Measurement]
    note: str = ""

    def round_ratios(self, variant: str, against: str | None = None) -> list[float]:
        """Speed of ``variant`` relative to ``against`` (the reference by default) in each round."""
        baseline = self.measurements[against or self.reference].seconds
        return [base / seconds for base, seconds in zip(baseline, self.measurements[variant].seconds, strict=True)]

    def ratio(self, variant: str, against: str | None = None) -> float:
        """Speed relative to ``against`` (2.0 = twice as fast): the median of the per-round ratios.

        Both ran in the same round, moments apart, so a round's ratio cancels most of what the
        machine was doing meanwhile; the median then drops the rounds where it did not.
        """
        return statistics.median(self.round_ratios(variant, against))


def _await(outcome: Any, loop: asyncio.AbstractEventLoop) -> Any:
    return loop.run_until_complete(outcome) if inspect.isawaitable(outcome) else outcome


def _timed(variant: Variant, loop: asyncio.AbstractEventLoop) -> tuple[float, Any]:
    """Run one variant once; the clock starts on a collected heap, so no variant pays for another's garbage."""
    if isinstance(variant, tuple):
        prepare, run = variant
        argument = _await(prepare(), loop)
        gc.collect()
        started = time.perf_counter()
        result = _await(run(argument), loop)
    else:
        gc.collect()
        started = time.perf_counter()
        result = _await(variant(), loop)
    return time.perf_counter() - started, result


def measure(
    name: str,
    variants: dict[str, Variant],
    *,
    reference: str,
    rounds: int,
    loop: asyncio.AbstractEventLoop,
    unit: str = "s",
    check: Callable[[Any], Any] = lambda result: result,
    note: str = "",
) -> WorkloadResult:
    """One warm-up round, then ``rounds`` shuffled rounds; results must agree after ``check``."""
    measurements = {label: Measurement(label) for label in variants}
    order = list(variants)
    for round_number in range(rounds + 1):
        random.shuffle(order)
        for label in order:
            elapsed, result = _timed(variants[label], loop)
            if round_number == 0:
                measurements[label].result = check(result)
                continue
            measurements[label].seconds.append(elapsed)
    expected = measurements[reference].result
    for label, measurement in measurements.items():
        if measurement.result != expected:
            raise AssertionError(f"{name}: variant {label!r} returned a different result than {reference!r}")
    return WorkloadResult(name, reference, unit, measurements, note)
