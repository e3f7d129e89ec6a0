"""``PublishStream``: what ``publish_table(..., streaming=True)`` returns — Databricks'
``StreamingQuery`` for a publish. A background thread publishes the table now and then every
Delta version committed after it (``fstore publish --watch``), until :meth:`stop`."""

from __future__ import annotations

import atexit
import re
import threading
from typing import Any

from .errors import InvalidInputError

_UNITS = {
    "ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hour": 3600.0, "hours": 3600.0,
}


def trigger_interval(trigger: dict[str, Any] | None, default: float) -> float:
    """Seconds between cycles from a Spark trigger: ``{'processingTime': '5 seconds'}``
    (also ``'500 ms'``, ``'1 minute'``, ``'2s'`` or a number of seconds)."""
    if trigger is None:
        return default
    if not isinstance(trigger, dict) or set(trigger) != {"processingTime"}:
        raise InvalidInputError(
            f"trigger must be {{'processingTime': '<n> seconds'}}; fstore's streaming publish has no other triggers, got {trigger!r}"
        )
    t = trigger["processingTime"]
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        secs = float(t)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*", str(t))
        if not m or m.group(2).lower() not in _UNITS:
            raise InvalidInputError(f"trigger processingTime `{t}` is not a duration such as '5 seconds' or '1 minute'")
        secs = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if secs <= 0:
        raise InvalidInputError(f"trigger processingTime `{t}` must be positive")
    return secs


_ACTIVE: set["PublishStream"] = set()
_LOCK = threading.Lock()


class PublishStream:
    """A running streaming publish. Keeps running when the object is dropped (like a Spark
    query) until :meth:`stop`, an error, or interpreter exit (which stops it cleanly).

    ``last_progress``/``lastProgress``: the last cycle's report (the ``PublishReport`` fields plus
    ``latest_version``, ``versions_behind``, ``latency_secs``, ``lag_secs``), or None."""

    def __init__(self, native: Any) -> None:
        self._native = native
        with _LOCK:
            _ACTIVE.add(self)

    @property
    def name(self) -> str:
        return str(self._native.name)

    @property
    def store(self) -> str:
        return str(self._native.store)

    @property
    def is_active(self) -> bool:
        return bool(self._native.is_active)

    isActive = is_active

    @property
    def cycles(self) -> int:
        """Publish cycles that ran so far."""
        return int(self._native.cycles)

    @property
    def last_progress(self) -> dict[str, Any] | None:
        return self._native.last_progress

    lastProgress = last_progress

    def stop(self) -> None:
        """Stops at once between cycles, after the cycle in flight otherwise; returns once
        stopped. Raises what ended the stream if it had failed."""
        try:
            self._native.stop()
        finally:
            self._forget()

    def await_termination(self, timeout: float | None = None) -> bool:
        """Waits until the stream ends (``timeout`` seconds at most). True if it ended; raises
        what ended it if it failed."""
        ended = bool(self._native.await_termination(timeout))
        if ended:
            self._forget()
        return ended

    def awaitTermination(self, timeout: float | None = None) -> bool:
        return self.await_termination(timeout)

    def exception(self) -> BaseException | None:
        """What ended the stream, or None."""
        return self._native.exception()  # type: ignore[no-any-return]

    def _forget(self) -> None:
        with _LOCK:
            _ACTIVE.discard(self)

    def __enter__(self) -> "PublishStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "active" if self.is_active else "stopped"
        return f"PublishStream({self.name} → {self.store}, {state}, {self.cycles} cycles)"

    @staticmethod
    def active() -> list["PublishStream"]:
        """The streams started in this process and not stopped yet."""
        with _LOCK:
            return [s for s in _ACTIVE if s.is_active]


@atexit.register
def _stop_all() -> None:
    for s in PublishStream.active():
        try:
            s.stop()
        except Exception:  # noqa: BLE001 - already logged by the stream; exiting anyway
            pass
