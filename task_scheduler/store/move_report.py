"""What a queue move reports, and why it may not happen: the report, the error, exit codes
(store/move.py; the command's reference is its module docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.models import TaskStatus

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SOURCE, EXIT_DEST, EXIT_REFUSED = 0, 1, 2, 3, 4, 5
STATUSES = [s.value for s in TaskStatus]
CHUNK = 500  # tasks read, written and checked at a time
INPUTS = "inputs"  # the data folder's input files (forge/extension.py INPUTS_DIR)
NOTHING_MOVED = "nothing was moved"


class MoveError(Exception):
    """Why the move did not happen, and the command's exit code."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class MoveReport:
    source: str
    dest: str
    dry_run: bool = False
    merge: bool = False
    statuses: dict[str, int] = field(default_factory=dict)  # moved tasks by status (in DEST)
    interrupted: list[str] = field(default_factory=list)  # running in SOURCE, moved as failed
    skipped: list[str] = field(default_factory=list)  # ids DEST already had (--merge)
    meta_moved: int = 0
    meta_kept: int = 0  # settings DEST already had (--merge)
    callbacks: int = 0
    files: int = 0  # input files the moved tasks list
    files_dir: str = ""  # where they are now (or were copied to)
    files_copied: int = 0
    files_present: int = 0  # already in the folder copied to, same bytes
    files_missing: list[str] = field(default_factory=list)  # listed, but not in SOURCE's folder
    files_differing: list[str] = field(default_factory=list)  # another file of that name kept
    nul_replaced: list[str] = field(default_factory=list)  # a NUL in text became U+FFFD

    @property
    def moved(self) -> int:
        return sum(self.statuses.values())

    def lines(self) -> list[str]:
        verb = "would move" if self.dry_run else "moved"
        counts = [f"{self.statuses[s]} {s}" for s in STATUSES if self.statuses.get(s)]
        lines = [
            f"{self.source} -> {self.dest}",
            f"{verb} {self.moved} task(s) ({', '.join(counts) or 'none'}), "
            f"{self.meta_moved} setting(s), "
            f"{self.callbacks} owed callback(s)",
        ]
        if self.interrupted:
            more = " …" if len(self.interrupted) > 5 else ""
            lines.append(
                f"  {len(self.interrupted)} task(s) were running when Forge stopped: moved as "
                f"failed ({', '.join(self.interrupted[:5])}{more})"
            )
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)} task(s) whose id {self.dest} has already")
        if self.meta_kept:
            lines.append(f"  kept {self.meta_kept} setting(s) {self.dest} has already")
        if self.files_copied or self.files_present:
            lines.append(
                f"input files: {self.files} listed; {'would copy' if self.dry_run else 'copied'} "
                f"{self.files_copied} to {self.files_dir} ({self.files_present} there already)"
            )
        elif self.files:
            lines.append(
                f"input files: {self.files} listed, left in {self.files_dir} (the Forges that run "
                "these tasks must use this data folder, or a copy of it)"
            )
        if self.files_missing:
            lines.append(
                f"  warning: {len(self.files_missing)} listed file(s) are not in the source "
                f"folder (tasks needing them fail when run): {', '.join(self.files_missing[:5])}"
            )
        if self.files_differing:
            lines.append(
                f"  warning: {len(self.files_differing)} file(s) of the same name but other bytes "
                f"were already in {self.files_dir} and were kept: "
                f"{', '.join(self.files_differing[:5])}"
            )
        if self.nul_replaced:
            lines.append(
                f"  {len(self.nul_replaced)} task(s) had a NUL character in a text field; it is "
                "stored as U+FFFD (PostgreSQL text cannot hold NUL)"
            )
        if not self.dry_run and self.moved:
            lines.append("checked: every moved task reads back from the destination as moved")
        return lines
