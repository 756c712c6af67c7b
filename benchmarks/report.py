"""Targets and the markdown report written to docs/performance.md."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.timing import WorkloadResult


@dataclass(frozen=True)
class Target:
    """A speed target: ``subject``'s speed relative to ``against`` must reach ``minimum``."""

    workload: str
    subject: str
    against: str
    minimum: float

    def ratio(self, results: dict[str, WorkloadResult]) -> float:
        return results[self.workload].ratio(self.subject, self.against)

    def spread(self, results: dict[str, WorkloadResult]) -> tuple[float, float]:
        ratios = results[self.workload].round_ratios(self.subject, self.against)
        return min(ratios), max(ratios)


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def workload_table(result: WorkloadResult) -> list[str]:
    lines = [
        f"### {result.name}",
        "",
        f"| variant | median | min - max | speed vs {result.reference} |",
        "|---|---:|---:|---:|",
    ]
    ranked = sorted(result.measurements.values(), key=lambda m: m.median)
    for measurement in ranked:
        spread = f"{_seconds(min(measurement.seconds))} - {_seconds(max(measurement.seconds))}"
        ratio = result.ratio(measurement.variant)
        label = f"**{measurement.variant}**" if measurement.variant.startswith("archipy_lite") else measurement.variant
        lines.append(f"| {label} | {_seconds(measurement.median)} | {spread} | {ratio:.2f}x |")
    if result.note:
        lines += ["", result.note]
    return [*lines, ""]


def targets_table(targets: list[Target], results: dict[str, WorkloadResult]) -> list[str]:
    lines = ["| workload | target | measured | rounds (min - max) | met |", "|---|---|---:|---:|:---:|"]
    for target in targets:
        if target.workload not in results:
            continue
        ratio = target.ratio(results)
        low, high = target.spread(results)
        met = "yes" if ratio >= target.minimum else "**no**"
        lines.append(
            f"| {results[target.workload].name.split(' (')[0]} | {target.subject} >= {target.minimum:.2f}x "
            f"{target.against} | {ratio:.2f}x | {low:.2f}x - {high:.2f}x | {met} |"
        )
    return lines
