"""Which process claimed a task, and whether that very process still runs.

A claim names its process as ``host:pid:token:start``. A pid alone is not an identity: after a
container restart the new Forge is pid 1 again on the same host, and any OS reuses pids. So a
claim also carries the process's *start identity*, which a later process with the same pid
never shares:

- Linux: the kernel's boot id plus the start time in clock ticks since boot
  (``/proc/sys/kernel/random/boot_id``, field 22 of ``/proc/<pid>/stat``);
- Windows: the process creation time (GetProcessTimes, 100 ns units);
- macOS: the start time from ``proc_pidinfo`` (microseconds);
- elsewhere: empty (unknown); then a claim is judged by the pid and its start time as far as
  known, as before.

The token tells two queue managers apart inside one process. Claims written before the start
identity existed (``host:pid:token``) stay readable: see `claim_is_alive`.
"""

from __future__ import annotations

import ctypes
import functools
import os
import socket
import struct
import sys

# A process that claimed a task was running before the claim; allow for the whole-second
# resolution of the boot time it is computed from.
_START_SLACK_SECONDS = 2.0


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return not _is_zombie(pid)


def process_start_identity(pid: int) -> str:
    """What tells this incarnation of `pid` from any earlier or later one; '' when unknown."""
    try:
        if sys.platform.startswith("linux"):
            ticks = _linux_stat(pid)[19]
            return f"{_boot_id()}/{int(ticks)}"
        if os.name == "nt":
            created = _windows_creation_time(pid)
            return "" if created is None else str(created)
        if sys.platform == "darwin":
            started = _darwin_start_microseconds(pid)
            return "" if started is None else str(started)
    except (OSError, IndexError, ValueError, AttributeError):
        pass
    return ""


def process_started_at(pid: int) -> float | None:
    """The process's start as a wall-clock time (seconds since the epoch), None when unknown."""
    try:
        if sys.platform.startswith("linux"):
            ticks = int(_linux_stat(pid)[19])
            return _linux_boot_time() + ticks / os.sysconf("SC_CLK_TCK")
        if os.name == "nt":
            created = _windows_creation_time(pid)
            # FILETIME counts 100 ns units since 1601-01-01
            return None if created is None else created / 1e7 - 11_644_473_600
        if sys.platform == "darwin":
            started = _darwin_start_microseconds(pid)
            return None if started is None else started / 1e6
    except (OSError, IndexError, ValueError, AttributeError):
        pass
    return None


def claim_for_this_process(token: str) -> str:
    """The claim string this process writes on the tasks it runs."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{token}:{process_start_identity(pid)}"


def claim_is_alive(
    claimed_by: str | None,
    claimed_at: float | None = None,
    own_claim: str | None = None,
    lease_until: float | None = None,
    now: float | None = None,
) -> bool:
    """Whether the process that wrote `claimed_by` still runs its task.

    `claimed_at` is when the task was claimed (its started_at); `own_claim` is the caller's own
    claim string, alive by definition. With `now`, the task's lease counts too (several
    instances, core/instances.py): an expired lease means gone, whoever holds it; a claim from
    another host is alive exactly while its lease runs (without a lease it counts as gone).

    Claims from before the start identity (``host:pid:token``): one naming our own pid was
    written by an earlier incarnation (this version never writes that form), so it is gone;
    one naming another live pid counts as alive only if that process started before the claim.
    """
    if not claimed_by:
        return False
    if own_claim is not None and claimed_by == own_claim:
        return True
    leased = False
    if lease_until is not None and now is not None:
        if lease_until <= now:
            return False
        leased = True
    parts = claimed_by.split(":", 3)
    if len(parts) < 2 or not parts[1].isdigit():
        return False
    if parts[0] != socket.gethostname():
        return leased  # another machine's process: only its lease vouches for it
    pid = int(parts[1])
    if not process_alive(pid):
        return False
    if len(parts) == 4 and parts[3]:
        current = process_start_identity(pid)
        return current == parts[3] or not current  # unknown now: cannot tell, keep it
    if len(parts) < 4 and pid == os.getpid():
        return False
    started = process_started_at(pid)
    if started is None or claimed_at is None:
        return True
    return started <= claimed_at + _START_SLACK_SECONDS


# -- Linux ------------------------------------------------------------------------------------


def _linux_stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (index 0 is field 3, the state)."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
        return stat.read().rsplit(")", 1)[1].split()


@functools.lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:  # no boot id (e.g. an old or restricted kernel): the start ticks remain
        return "noboot"


@functools.lru_cache(maxsize=1)
def _linux_boot_time() -> float:
    with open("/proc/stat", encoding="ascii") as stat:
        for line in stat:
            if line.startswith("btime "):
                return float(line.split()[1])
    raise ValueError("no btime in /proc/stat")


def _is_zombie(pid: int) -> bool:
    """A killed child that nobody reaped yet still answers kill(0); /proc tells the truth."""
    try:
        return _linux_stat(pid)[0] == "Z"
    except (OSError, IndexError):
        return False


# -- Windows ----------------------------------------------------------------------------------

_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000


def _windows_process_alive(pid: int) -> bool:  # pragma: no cover - exercised on Windows only
    still_active = 259
    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return False
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def _windows_creation_time(pid: int) -> int | None:  # pragma: no cover - Windows only
    """The process creation time as a FILETIME integer (100 ns units since 1601)."""
    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return None
    try:
        times = [ctypes.c_ulonglong() for _ in range(4)]  # creation, exit, kernel, user
        if not kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
            return None
        return times[0].value
    finally:
        kernel32.CloseHandle(handle)


# -- macOS ------------------------------------------------------------------------------------


def _darwin_start_microseconds(pid: int) -> int | None:  # pragma: no cover - macOS only
    """Start time from proc_pidinfo(PROC_PIDTBSDINFO): struct proc_bsdinfo, 136 bytes, with
    pbi_start_tvsec and pbi_start_tvusec (two uint64) at offset 120."""
    libproc = ctypes.CDLL("/usr/lib/libproc.dylib")
    buffer = ctypes.create_string_buffer(136)
    if libproc.proc_pidinfo(pid, 3, ctypes.c_uint64(0), buffer, 136) != 136:
        return None
    seconds, microseconds = struct.unpack_from("=QQ", buffer.raw, 120)
    return seconds * 1_000_000 + microseconds
