"""`python -m bot …` with cProfile switched on by SIGUSR1 and written out at exit.

Profiling only the serving window keeps start-up (imports, pydantic schema
building) out of the picture. Used by the throughput benchmark with
BENCH_PROFILE=1:  python -m benchmarks.profiled OUT.prof run
"""

from __future__ import annotations

import cProfile
import signal
import sys
from types import FrameType


def main() -> int:
    out, args = sys.argv[1], sys.argv[2:]
    profiler = cProfile.Profile()

    def begin(_signum: int, _frame: FrameType | None) -> None:
        profiler.enable()

    signal.signal(signal.SIGUSR1, begin)
    sys.argv = ["bot", *args]
    from bot.app import main as bot_main

    try:
        return bot_main()
    finally:
        profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    raise SystemExit(main())
