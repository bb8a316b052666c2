"""A progress bar for calibration and engine builds: on a terminal, or in Jupyter; silent when
output goes to a file or a pipe."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO, Tuple


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    try:
        return shell.get_ipython() is not None
    except AttributeError:
        return False


def interactive(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) or _in_notebook()


class ProgressBar:
    """``report(stage, done, total)`` draws ``stage [#####.....] done/total`` on one line."""

    def __init__(self, stream: Optional[TextIO] = None, width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._stage: Optional[str] = None
        self._last = 0.0
        self._latest: Optional[Tuple[str, int, int]] = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = total > 0 and done >= total
        latest, self._latest = self._latest, (stage, done, total)
        if stage == self._stage and not finished and now - self._last < 0.1:
            return  # at most ten redraws a second
        if self._stage is not None and stage != self._stage:
            if latest is not None and latest[0] == self._stage:
                self._draw(*latest)  # the stage's final count
            self.stream.write("\n")
        self._stage, self._last = stage, now
        self._draw(stage, done, total)

    def _draw(self, stage: str, done: int, total: int) -> None:
        if total > 0:
            filled = min(self.width, self.width * done // total)
            line = f"\r{stage} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}"
        else:
            line = f"\r{stage} {done}"
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        if self._stage is not None:
            if self._latest is not None:
                self._draw(*self._latest)
            self.stream.write("\n")
            self.stream.flush()
            self._stage = None


def progress_for(progress: Optional[bool]) -> Optional[ProgressBar]:
    """A bar when `progress` is True, or None (the default) on an interactive output."""
    if progress is False:
        return None
    if progress is None and not interactive(sys.stderr):
        return None
    return ProgressBar()
