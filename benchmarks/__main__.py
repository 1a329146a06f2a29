"""Run every benchmark, print the table, write benchmarks/results/latest.json and
docs/benchmarks-results.md.

    python -m benchmarks                 all of them
    python -m benchmarks throughput      the ones whose module name holds a word given
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys

from benchmarks.common import Result, print_table, write_json
from benchmarks.report import write_markdown

BENCHMARKS = [
    "benchmarks.throughput",
    "benchmarks.latency",
    "benchmarks.delivery",
    "benchmarks.memory",
]


async def main(selected: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    results: list[Result] = []
    for name in BENCHMARKS:
        if selected and not any(s in name for s in selected):
            continue
        module = importlib.import_module(name)
        print(f"running {name} …", flush=True)
        results += await module.run()
    print_table(results)
    print(f"\nwritten to {write_json(results)} and {write_markdown(results)}")
    return 0 if all(r.ok is not False for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
