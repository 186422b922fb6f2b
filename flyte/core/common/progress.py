"""Progress lines for long loops, at most one every few seconds, whatever the loop's pace."""

from __future__ import annotations

import logging
import time
from typing import Callable

#: Seconds between two progress lines of one loop: often enough to show a long stage is alive, rarely enough
#: that a 1,000-round fit or a 10-million-row read writes a screenful, not thousands of lines.
INTERVAL_S = 10.0
#: The clock a Progress reads unless given one (seconds, monotonic); tests replace it to step time themselves.
CLOCK: Callable[[], float] = time.monotonic


class Progress:
    """Logs a loop's progress at INFO on ``logger``, at most once per ``interval_s`` seconds.

    Call ``due()`` (cheap: one clock read) before computing an expensive message, or ``report(...)`` directly;
    the first line comes ``interval_s`` after creation, so a loop that finishes sooner logs nothing.
    ``interval_s`` defaults to INTERVAL_S, ``clock`` (seconds, monotonic) to CLOCK, both read at creation.
    """

    def __init__(self, logger: logging.Logger, interval_s: float | None = None, clock: Callable[[], float] | None = None):
        interval_s = INTERVAL_S if interval_s is None else interval_s
        clock = clock or CLOCK
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self.logger, self.interval_s, self.clock = logger, interval_s, clock
        self._next = clock() + interval_s
        self.lines = 0

    def due(self) -> bool:
        """Whether a line may be written now."""
        return self.clock() >= self._next

    def report(self, message: str, *args) -> bool:
        """Log ``message % args`` if a line is due; returns whether it did."""
        now = self.clock()
        if now < self._next:
            return False
        self._next = now + self.interval_s
        self.lines += 1
        self.logger.info(message, *args)
        return True
