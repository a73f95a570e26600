"""A progress bar on stderr for long operator commands: redrawn in place on a terminal,
a line per tenth otherwise (logs and CI keep a readable record)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self.started = time.perf_counter()
        self.phase = ""
        self.shown = -1.0
        self.drawn_at = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.finish_line()
            self.phase, self.shown, self.started = phase, -1.0, time.perf_counter()
        share = done / total if total else 1.0
        now = time.perf_counter()
        if self.tty:
            if now - self.drawn_at < 0.1 and done < total:
                return
            self.drawn_at = now
            filled = int(share * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r{self._text(bar, share, done, total, now)}")
        elif share - self.shown >= 0.1 or (done == total and self.shown < 1.0):
            self.shown = share
            self.stream.write(self._text("", share, done, total, now) + "\n")
        self.stream.flush()

    def _text(self, bar: str, share: float, done: int, total: int, now: float) -> str:
        rate = done / (now - self.started) if now > self.started else 0.0
        bar = f" [{bar}]" if bar else ""
        return f"{self.label} {self.phase}{bar} {share:4.0%} {done:,}/{total:,} ({rate:,.0f}/s)"

    def finish_line(self) -> None:
        if self.tty and self.phase:
            self.stream.write("\n")
            self.stream.flush()
