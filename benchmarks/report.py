"""The results as markdown: docs/benchmarks-results.md, linked from docs/benchmarks.md.

Written by every `make bench` (or `python -m benchmarks …`) from the run's own
numbers, so the document never holds a number no run produced.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import Result

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = ROOT / "docs" / "benchmarks-results.md"
RATIO = ": ratio over echo"  # the throughput benchmark's ratio results end so


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "?"
    return out.stdout.strip() or "?"


def _machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average at the end {load}"


def _ms(latency: dict[str, float]) -> str:
    return " / ".join(f"{latency[k]:.0f}" for k in ("p50", "p95", "p99"))


def throughput_table(results: list[Result]) -> list[str]:
    rows = [r for r in results if r.unit == "upd/s"]
    if not rows:
        return []
    ratios = {r.name.removesuffix(RATIO): r for r in results if r.name.endswith(RATIO)}
    lines = [
        "## Telegram: throughput, ratio over the echo bot, latency at 50 % load",
        "",
        "| setup | updates/s (walks' range) | ratio over echo | goal | CPU ms/update "
        "| PostgreSQL CPU ms / transactions per update "
        "| p50 / p95 / p99 ms at 50 % | peak RSS MB | stalls | dialog errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        d = r.details
        label = r.name.removesuffix(": updates/s")
        ratio = ratios.get(label)
        shown = f"**{ratio.value:.2f}**" if ratio else ""
        goal = ""
        if ratio is not None and ratio.goal:
            goal = f"{ratio.goal} {'met' if ratio.ok else 'NOT met'}"
        errors = "" if label.startswith("echo") else f"{d.get('dialog_errors', 0):.0f}"
        server = ""
        if d.get("postgres_cpu_ms_per_update") is not None:
            server = (
                f"{d['postgres_cpu_ms_per_update']:.2f} / "
                f"{d.get('postgres_transactions_per_update') or 0:.2f}"
            )
        walks = d.get("round_rates") or []
        spread = f" ({min(walks):.0f}–{max(walks):.0f})" if len(walks) > 1 else ""
        lines.append(
            f"| {label} | {r.value:.1f}{spread} | {shown} | {goal} "
            f"| {d.get('cpu_ms_per_update', 0):.2f} "
            f"| {server} | {_ms(d['latency_at_half_rate_ms'])} | {d.get('peak_rss_mb', 0):.0f} "
            f"| {d.get('stalls', 0)} | {errors} |"
        )
    sample = rows[-1].details
    lines += [
        "",
        f"{sample.get('people')} people, {sample.get('updates')} updates per walk at the "
        f"maximum rate; {len(sample.get('round_rates') or [1])} walks per setup by new "
        "people, the median walk reported (its rate, CPU and PostgreSQL figures); the "
        "latency run paces other people at half that rate. "
        "Mix of the last setup: "
        + ", ".join(f"{k} {v}" for k, v in sample.get("kinds", {}).items())
        + "; tasks "
        + ", ".join(f"{k} {v}" for k, v in sample.get("tasks", {}).items())
        + "; "
        + ", ".join(f"{k} {v}" for k, v in sample.get("outcomes", {}).items())
        + ".",
    ]
    return lines


def breakdown_table(results: list[Result]) -> list[str]:
    rows = [
        (r.name.removesuffix(": updates/s"), r.details["cpu_breakdown_ms_per_update"])
        for r in results
        if r.unit == "upd/s" and r.details.get("cpu_breakdown_ms_per_update")
    ]
    if not rows:
        return []
    areas = sorted(
        {area for _, parts in rows for area in parts},
        key=lambda area: -max(parts.get(area, 0.0) for _, parts in rows),
    )
    lines = [
        "## Telegram: CPU per update by area",
        "",
        "Each setup run again under cProfile after the matrix; each area's share of the "
        "profiled CPU time applied to the unprofiled CPU ms/update above (cProfile slows "
        "Python more than C, so shares are approximate).",
        "",
        "| area | " + " | ".join(label for label, _ in rows) + " |",
        "|---|" + "---|" * len(rows),
    ]
    for area in areas:
        cells = " | ".join(f"{parts.get(area, 0.0):.3f}" for _, parts in rows)
        lines.append(f"| {area} | {cells} |")
    totals = " | ".join(f"**{sum(parts.values()):.2f}**" for _, parts in rows)
    lines.append(f"| total ms/update | {totals} |")
    counts = [
        r.details.get("statements_per_update")
        for r in results
        if r.unit == "upd/s" and r.details.get("cpu_breakdown_ms_per_update")
    ]
    cells = " | ".join("—" if n is None else f"{n:.2f}" for n in counts)
    lines += [
        f"| SQL statements per update (SQLite: every statement of the process, "
        f"BEGIN/COMMIT and background services included) | {cells} |"
    ]
    return lines


def other_table(results: list[Result]) -> list[str]:
    # every other result, the announcement's rate over its limit (a ratio too) included
    rows = [r for r in results if r.unit != "upd/s" and not r.name.endswith(RATIO)]
    if not rows:
        return []
    lines = ["## Other benchmarks", "", "| benchmark | value | goal | met |", "|---|---|---|---|"]
    for r in rows:
        met = "" if r.ok is None else ("yes" if r.ok else "no")
        lines.append(f"| {r.name} | {r.value:.2f} {r.unit} | {r.goal} | {met} |")
    return lines


def write_markdown(results: list[Result], path: Path = MARKDOWN) -> Path:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` ({when}, commit {_commit()}, {_machine()}). "
        "Method: [benchmarks.md](benchmarks.md). Ratios compare bots measured in the same "
        "run on the same machine; absolute numbers describe only that machine.",
        "",
        *throughput_table(results),
        "",
        *breakdown_table(results),
        "",
        *other_table(results),
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
