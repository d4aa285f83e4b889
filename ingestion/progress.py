"""Progress lines for long listings: pages, models, rate and ETA, at most every few seconds."""

from __future__ import annotations

import logging
import time


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


class Progress:
    """Counts pages and models and logs a line every `every` seconds (and at the end)."""

    def __init__(self, log: logging.Logger, label: str, every: float = 5.0):
        self.log = log
        self.label = label
        self.every = every
        self.started = time.monotonic()
        self.last_logged = self.started
        self.pages = 0
        self.models = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        return self.models / self.elapsed if self.elapsed > 0 else 0.0

    def update(self, models: int, fraction_done: float | None = None, pages: int = 1) -> None:
        """Count `pages` holding `models`; `fraction_done` (0..1), when known, gives the ETA."""
        self.pages += pages
        self.models += models
        now = time.monotonic()
        if now - self.last_logged >= self.every:
            self.last_logged = now
            self.log.info(self.line(fraction_done))

    def line(self, fraction_done: float | None = None) -> str:
        eta = "unknown"
        if fraction_done is not None and fraction_done > 0:
            eta = _duration(self.elapsed * (1 - min(fraction_done, 1.0)) / fraction_done)
        return (
            f"{self.label}: {self.pages} pages, {self.models:,} models, "
            f"{self.rate:,.0f} models/s, elapsed {_duration(self.elapsed)}, ETA {eta}"
        )

    def finish(self) -> None:
        self.log.info(self.line(1.0).replace("ETA 0m00s", "done"))
