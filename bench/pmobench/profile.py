"""Optional CPU profile of the operator during a run, with py-spy when it is installed (`pip install py-spy`):
where the operator's CPU goes, to name the code behind a figure."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


class Profiler:
    def __init__(self, pid: int, output: Path) -> None:
        self.output = output
        self.proc: subprocess.Popen[bytes] | None = None
        py_spy = shutil.which("py-spy")
        if py_spy:
            self.proc = subprocess.Popen(
                [py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(output), "--rate", "25",
                 "--nonblocking", "--gil"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip

    @property
    def available(self) -> bool:
        return self.proc is not None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
            self.proc.wait(timeout=60)


def top_frames(collapsed: Path, limit: int = 20) -> list[tuple[str, float, float]]:
    """(frame, percent of samples on CPU in it or below, percent in it itself), by the former."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_LINE.sub(")", f) for f in stack.split(";") if not f.startswith("thread (")]
        n = int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        if frames:
            own[frames[-1]] += n
    if not total:
        return []
    return [(f, 100 * n / total, 100 * own[f] / total) for f, n in inclusive.most_common(limit)]
