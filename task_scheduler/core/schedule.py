"""Run windows and a scheduled start, in the server's local time: pure rules, no store.

A schedule has a "start the queue at" moment (once) and daily run windows ("01:00"-"07:00";
several allowed; one may cross midnight, "22:00"-"06:00"; equal ends mean all day). The gate
is open inside a window (or always, without windows) once the start moment has passed.

Local time and daylight saving: a window's ends are wall-clock times of the server's zone, put
on each day through zoneinfo. A start in the hour that a spring change skips is taken as the
same clock time after the change (02:30 -> 03:30, PEP 495 `fold=0`); in the hour an autumn
change repeats, the first occurrence counts. So a window never vanishes and never runs twice.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any

log = logging.getLogger("task_scheduler")

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MAX_WINDOWS = 24


@dataclass(frozen=True)
class Window:
    """A daily window, minutes after local midnight; `end <= start` crosses midnight."""

    start: int
    end: int

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        return cls(parse_hhmm(start, "start"), parse_hhmm(end, "end"))

    @property
    def label(self) -> str:
        return f"{hhmm(self.start)}\u2013{hhmm(self.end)}"

    def on(self, day: date, zone: tzinfo) -> tuple[float, float]:
        """(start, end) as unix time for the window that starts on `day`."""
        start = _at(day, self.start, zone)
        end_day = day if self.end > self.start else day + timedelta(days=1)
        return start, _at(end_day, self.end, zone)


@dataclass(frozen=True)
class Schedule:
    start_at: float | None = None  # unix time; once passed, the schedule forgets it
    windows: tuple[Window, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return self.start_at is None and not self.windows

    def to_json(self) -> dict[str, Any]:
        return {
            "start_at": self.start_at,
            "windows": [[hhmm(w.start), hhmm(w.end)] for w in self.windows],
        }

    @classmethod
    def from_json(cls, data: Any) -> Schedule:
        """A stored schedule; what cannot be read is left out (never a reason not to start)."""
        if not isinstance(data, dict):
            return cls()
        start_at = data.get("start_at")
        windows = []
        for item in data.get("windows") or []:
            try:
                windows.append(Window.parse(*item))
            except (TypeError, ValueError):
                continue
        ok = isinstance(start_at, int | float) and math.isfinite(start_at)
        return cls(float(start_at) if ok else None, tuple(windows))


@dataclass(frozen=True)
class Gate:
    """Whether a new task may start now, and if not, why and until when."""

    open: bool
    reason: str = ""  # why it waits: "Waiting for the run window 01:00-07:00, starts in 3 h"
    opens_at: float | None = None  # when it opens (closed gate)
    opened_at: float | None = None  # start of the window we are in, or the start moment passed
    next_opening: float | None = None  # the next window start or start moment after now


def gate(schedule: Schedule, now: float, zone: tzinfo) -> Gate:
    if schedule.start_at is not None and now < schedule.start_at:
        when = datetime.fromtimestamp(schedule.start_at, zone).strftime("%Y-%m-%d %H:%M")
        wait = format_wait(schedule.start_at - now)
        return Gate(
            False,
            f"Waiting for the scheduled start at {when}, in {wait}",
            schedule.start_at,
            next_opening=schedule.start_at,
        )
    started = schedule.start_at  # passed, or None
    if not schedule.windows:
        return Gate(True, opened_at=started)
    inside, upcoming = _windows_around(schedule.windows, now, zone)
    if inside is not None:
        return Gate(True, opened_at=inside, next_opening=upcoming[0] if upcoming else None)
    opens, window = upcoming
    reason = f"Waiting for the run window {window.label}, starts in {format_wait(opens - now)}"
    return Gate(False, reason, opens, next_opening=opens)


def _windows_around(
    windows: tuple[Window, ...], now: float, zone: tzinfo
) -> tuple[float | None, Any]:
    """(start of the window containing now or None, (next start after now, its window))."""
    today = datetime.fromtimestamp(now, zone).date()
    inside: float | None = None
    upcoming: tuple[float, Window] | None = None
    for offset in (-1, 0, 1, 2):
        day = today + timedelta(days=offset)
        for window in windows:
            start, end = window.on(day, zone) if window.end != window.start else _all_day(day, zone)
            if start <= now < end and (inside is None or start < inside):
                inside = start
            if start > now and (upcoming is None or start < upcoming[0]):
                upcoming = (start, window)
    return inside, upcoming


def _all_day(day: date, zone: tzinfo) -> tuple[float, float]:
    return _at(day, 0, zone), _at(day + timedelta(days=1), 0, zone)


def _at(day: date, minutes: int, zone: tzinfo) -> float:
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.timestamp()  # fold=0: a skipped time moves forward, a repeated one is first


# -- text --------------------------------------------------------------------------------------


def parse_hhmm(text: Any, name: str = "time") -> int:
    if not isinstance(text, str) or not _HHMM.match(text.strip()):
        raise ValueError(f"{name}: must be a time of day as HH:MM (00:00 to 23:59)")
    hours, minutes = text.strip().split(":")
    return int(hours) * 60 + int(minutes)


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_wait(seconds: float) -> str:
    """'3 h 12 min', '45 min', '2 d 3 h', 'less than a minute'."""
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def parse_when(value: Any, zone: tzinfo, name: str = "run_after") -> float:
    """Unix time from ISO 8601 text (no zone: `zone`, the server's local time) or a number
    (unix seconds). ValueError naming `name` otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: must be an ISO 8601 date-time or unix seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value < 1e11:
            raise ValueError(f"{name}: not a time")
        return float(value)
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError(f"{name}: must be an ISO 8601 date-time or unix seconds")
    text = value.strip()
    if text.endswith(("Z", "z")):  # Python 3.10's fromisoformat does not read "Z"
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{name}: not an ISO 8601 date-time (e.g. 2026-12-24T01:30 or 2026-12-24T01:30+01:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):
        raise ValueError(f"{name}: not a time") from None


def iso(moment: float | None, zone: tzinfo) -> str | None:
    """Unix time as ISO 8601 in `zone`, with its offset (seconds dropped when zero)."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, zone).isoformat(timespec="minutes")


# -- the server's zone -------------------------------------------------------------------------


def local_zone() -> tzinfo:
    """The server's local zone with its daylight-saving rules (TZ, else /etc/localtime); a
    fixed offset where neither names one (then changes of offset are not followed)."""
    try:
        from zoneinfo import ZoneInfo

        name = os.environ.get("TZ", "").lstrip(":")
        if name:
            return ZoneInfo(name)
        if os.path.exists("/etc/localtime"):
            with open("/etc/localtime", "rb") as file:
                return ZoneInfo.from_file(file, key=_zone_name())
    except Exception as error:  # an unknown TZ, no tz database: the current offset works
        log.warning("task scheduler: local time zone unknown (%s); using its offset now", error)
    return datetime.now().astimezone().tzinfo or timezone.utc


@lru_cache(maxsize=1)
def server_zone() -> tzinfo:
    """local_zone(), looked up once per process."""
    return local_zone()


def local_text(moment: float | None, zone: tzinfo | None = None) -> str:
    """'2026-12-02 01:30' in the server's local time ('' for None)."""
    if moment is None or not isinstance(moment, int | float) or not math.isfinite(moment):
        return ""
    return datetime.fromtimestamp(moment, zone or server_zone()).strftime("%Y-%m-%d %H:%M")


def _zone_name() -> str:
    try:
        target = os.path.realpath("/etc/localtime")
        return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "localtime"
    except OSError:
        return "localtime"


def zone_label(zone: tzinfo, now: float) -> str:
    """'Europe/Berlin (UTC+01:00)': the zone the server's times are in."""
    moment = datetime.fromtimestamp(now, zone)
    offset = moment.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    name = str(getattr(zone, "key", "") or moment.tzname() or "")
    return f"{name} ({offset})" if name and name != offset else offset
