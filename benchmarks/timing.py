"""Interleaved timing: every variant of a workload runs once per round, slice by slice, in shuffled order."""

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

# A variant is run(part) or (prepare, run): prepare() is untimed, once per round, and its return value is
# passed to run(prepared, part). ``part`` numbers the slice of the workload to do (see ``measure``).
Variant = Callable[[int], Any] | tuple[Callable[[], Any], Callable[[Any, int], Any]]


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


def _timed(run: Callable[[], Any], loop: asyncio.AbstractEventLoop) -> tuple[float, Any]:
    started = time.perf_counter()
    result = _await(run(), loop)
    return time.perf_counter() - started, result


def _round(
    variants: dict[str, Variant], order: list[str], slices: int, loop: asyncio.AbstractEventLoop
) -> dict[str, tuple[float, list[Any]]]:
    """One round on a collected heap, so no variant pays for garbage another one left.

    With one slice each variant is prepared just before it runs; with more, all are prepared first
    and then take turns slice by slice, each slice in a new shuffled order.
    """
    elapsed = dict.fromkeys(variants, 0.0)
    results: dict[str, list[Any]] = {label: [] for label in variants}

    def run(label: str, prepared: Any, part: int) -> None:
        variant = variants[label]
        if isinstance(variant, tuple):
            seconds, result = _timed(lambda: variant[1](prepared, part), loop)
        else:
            seconds, result = _timed(lambda: variant(part), loop)
        elapsed[label] += seconds
        results[label].append(result)

    def prepare(label: str) -> Any:
        variant = variants[label]
        return _await(variant[0](), loop) if isinstance(variant, tuple) else None

    random.shuffle(order)
    if slices == 1:
        for label in order:
            prepared = prepare(label)
            gc.collect()
            run(label, prepared, 0)
    else:
        everything = {label: prepare(label) for label in order}
        gc.collect()
        for part in range(slices):
            random.shuffle(order)
            for label in order:
                run(label, everything[label], part)
    return {label: (elapsed[label], results[label]) for label in variants}


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
    slices: int = 1,
) -> WorkloadResult:
    """One warm-up round, then ``rounds`` rounds; results must agree after ``check``.

    With ``slices`` > 1 each round is cut into that many parts and the variants take turns part by
    part, so a slow spell of the machine (a checkpoint, another process) hits all of them alike.
    ``check`` receives the list of the parts' results.
    """
    measurements = {label: Measurement(label) for label in variants}
    order = list(variants)
    for round_number in range(rounds + 1):
        for label, (seconds, result) in _round(variants, order, slices, loop).items():
            if round_number == 0:
                measurements[label].result = check(result)
            else:
                measurements[label].seconds.append(seconds)
    expected = measurements[reference].result
    for label, measurement in measurements.items():
        if measurement.result != expected:
            raise AssertionError(f"{name}: variant {label!r} returned a different result than {reference!r}")
    return WorkloadResult(name, reference, unit, measurements, note)
