"""Memory and time over a long run in a real Forge: many tiny queued tasks in one Forge process.

Run from the repository root (it starts a Forge: on a shared machine, inside the slot wrapper):

    FORGE_DIR=../forge .venv/bin/python bench/long_run_forge.py [--tasks 200] [--steps 2]

What it does: launches the test Forge (tests/forge_env/launch_forge.sh, checkpoint randA, its
own temporary settings, data and output folders) with the test-only probe
tests/forge_env/gc_probe.py enabled, queues `--warmup` tiny txt2img tasks (64x64) through the
REST API, starts the queue, waits until they are done, measures, queues the rest, waits, and
measures again. Measures are taken with the worker idle:

* resident memory (VmRSS of the Forge process, /proc) after the warm-up and at the end
  (target: grows by less than 50 MB);
* the mean run time of the last 50 tasks against tasks 21-70 (target: within 10 %), from the
  tasks' own started/completed times, and Forge's CPU seconds over the same spans;
* live objects after a full gc inside Forge: StableDiffusionProcessing*, Processed, PIL images,
  tracebacks, the extension's Task / RunResult / ReplayOutcome (target: no processing objects
  and no more images than after the warm-up).

It prints the figures and exits 1 when a target is missed. `--minutes M`, or SIGUSR1 at any
time, stops the queue after the running task and reports on the tasks done so far.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.forge_process import (  # noqa: E402
    DEFAULT_FORGE_DIR,
    ForgeProcess,
    install_extension,
    wait_until,
)

PROBE = REPO / "tests" / "forge_env" / "gc_probe.py"
PROBE_ENV = "TASK_SCHEDULER_GC_PROBE"
RSS_TARGET_MB = 50.0
TIME_TARGET = 0.10


def body(index: int, steps: int) -> dict:
    return {
        "prompt": f"long run task {index}, a small red house",
        "negative_prompt": "blurry",
        "steps": steps,
        "sampler_name": "Euler",
        "scheduler": "Automatic",
        "cfg_scale": 7,
        "width": 64,
        "height": 64,
        "seed": 1000 + index,
        "save_images": False,  # as most clients send it; queued tasks save anyway
        "name": f"long-run-{index:03d}",
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def rss_parts(pid: int) -> dict[str, float]:
    """VmRSS split as the kernel reports it (MB): anonymous memory (heaps, arenas, torch
    buffers), file pages (mapped libraries and checkpoint files), shared memory."""
    parts = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in ("RssAnon", "RssFile", "RssShmem"):
            parts[key] = int(line.split()[1]) / 1024
    return parts


def mappings(pid: int) -> dict[str, float]:
    """Resident MB per mapping (start address and name) from /proc/<pid>/smaps."""
    out: dict[str, float] = {}
    current = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(None, 1)[0]
        if "-" in head and not head.endswith(":"):
            fields = line.split(None, 5)
            start = fields[0].split("-")[0]  # the start stays when a heap grows
            current = f"{start} {fields[5] if len(fields) > 5 else '[anon]'}"
        elif head == "Rss:":
            out[current] = int(line.split()[1]) / 1024
    return out


def mapping_steps(before: dict[str, float], after: dict[str, float]) -> list[list]:
    """The mappings whose resident size changed most between two samples."""
    keys = set(before) | set(after)
    steps = [[k, round(after.get(k, 0.0) - before.get(k, 0.0), 1)] for k in keys]
    steps = [s for s in steps if abs(s[1]) >= 1.0]
    steps.sort(key=lambda s: -abs(s[1]))
    return steps[:15]


STEP_MB = 20.0  # an RSS change between two samples that large is looked at per mapping


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def install_probe(forge: Path) -> None:
    target = forge / "extensions" / "test-gc-probe" / "scripts" / "gc_probe.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_bytes() != PROBE.read_bytes():
        shutil.copyfile(PROBE, target)


class Run:
    def __init__(self, forge: ForgeProcess, steps: int, probe_every: int = 0):
        self.forge = forge
        self.steps = steps
        self.probe_every = probe_every
        self.probes_at: dict[int, dict] = {}  # every probe_every tasks: objects after gc
        self.pid = forge.proc.pid
        self.queued = 0
        self.cpu_at: dict[int, float] = {}  # finished count -> Forge CPU seconds
        self.rss_at: dict[int, float] = {}
        self.parts_at: dict[int, dict[str, float]] = {}
        self.load_at: dict[int, float] = {}
        self.steps_seen: list[dict] = []  # RSS steps of STEP_MB or more, per mapping
        self._maps: dict[str, float] | None = None

    def sample(self, done: int) -> None:
        self.cpu_at[done] = cpu_seconds(self.pid)
        self.rss_at[done] = rss_mb(self.pid)
        self.parts_at[done] = rss_parts(self.pid)
        self.load_at[done] = os.getloadavg()[0]
        maps = mappings(self.pid)
        if self._maps is not None:
            previous = max((k for k in self.rss_at if k < done), default=None)
            if previous is not None and abs(self.rss_at[done] - self.rss_at[previous]) >= STEP_MB:
                step = {
                    "from": previous,
                    "to": done,
                    "rss": [self.rss_at[previous], self.rss_at[done]],
                    "parts": [self.parts_at[previous], self.parts_at[done]],
                    "mappings": mapping_steps(self._maps, maps),
                }
                self.steps_seen.append(step)
                print(f"  RSS step {step}", flush=True)
        self._maps = maps
        if self.probe_every and done % self.probe_every == 0 and done not in self.probes_at:
            # while a task runs: its own objects may count; the gc costs that task ~1 s
            objects = self.forge.api("GET", "/test-gc-probe/counts").json()
            keep = ("processing", "processed", "pil_images", "tensors", "gc_objects")
            self.probes_at[done] = {k: objects.get(k) for k in keep}
            self.probes_at[done]["rss_after_gc"] = rss_mb(self.pid)

    def enqueue(self, count: int) -> None:
        for _ in range(count):
            self.queued += 1
            reply = self.forge.api(
                "POST", "/task-scheduler/queue/txt2img", json=body(self.queued, self.steps)
            )
            if reply.status_code != 201:
                raise RuntimeError(f"enqueue {self.queued}: {reply.status_code} {reply.text}")

    def count(self, statuses: str) -> int:
        """Tasks in these statuses, read from the database file (polling over HTTP would cost
        Forge CPU)."""
        with closing(sqlite3.connect(f"file:{self.forge.db_path}?mode=ro", uri=True)) as db:
            db.execute("PRAGMA busy_timeout = 5000")
            (count,) = db.execute(
                f"SELECT COUNT(*) FROM tasks WHERE status IN ({statuses})"
            ).fetchone()
        return count

    def wait_all(self, until: float | None = None) -> bool:
        """Wait until every queued task finished (True), or `until` passed (False); note Forge's
        CPU seconds and RSS each time a task finishes."""
        last = -1
        deadline = time.monotonic() + 120 * self.queued + 900
        while True:
            done = self.count("'completed', 'failed', 'cancelled'")
            if done != last:
                self.sample(done)
                if done // 10 != last // 10:
                    print(
                        f"  {done}/{self.queued} done, RSS {self.rss_at[done]:.0f} MB", flush=True
                    )
                last = done
            if done >= self.queued:
                return True
            if _EARLY or (until is not None and time.monotonic() > until):
                return False
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {done} of {self.queued} tasks finished")
            time.sleep(1.0)

    def stop_queue(self) -> None:
        """Out of time: stop taking tasks, let the running one finish."""
        self.forge.api("POST", "/task-scheduler/stop").raise_for_status()
        wait_until(lambda: self.count("'running'") == 0, 900, "the running task to end", 1.0)
        done = self.count("'completed', 'failed', 'cancelled'")
        self.sample(done)
        print(f"  out of time: stopped after {done} tasks", flush=True)

    def idle_measure(self) -> dict:
        time.sleep(2.0)  # the worker has recorded the task; let the last callbacks settle
        rss, parts = rss_mb(self.pid), rss_parts(self.pid)
        probe = self.forge.api("GET", "/test-gc-probe/counts")
        probe.raise_for_status()
        return {
            "rss_mb": rss,
            "rss_parts": parts,
            "cpu_s": cpu_seconds(self.pid),
            "objects": probe.json(),
        }


def task_times(forge: ForgeProcess) -> list[tuple[float, float]]:
    tasks = [t for t in forge.tasks() if t.name.startswith("long-run-") and t.is_finished]
    tasks.sort(key=lambda t: t.name)
    bad = [t for t in tasks if t.status.value != "completed" or len(t.result_images) != 1]
    if bad:
        t = bad[0]
        raise RuntimeError(
            f"{len(bad)} tasks not completed with one image, e.g. {t.name}: "
            f"{t.status.value} {t.error} {t.result_images}"
        )
    missing = [p for t in tasks for p in t.result_images if not os.path.isfile(p)]
    if missing:
        raise RuntimeError(f"{len(missing)} recorded images missing, e.g. {missing[0]}")
    return [(t.started_at, t.completed_at) for t in tasks]


def span_mean(durations: list[float], first: int, last: int) -> float:
    """Mean of tasks first..last, 1-based inclusive."""
    return statistics.fmean(durations[first - 1 : last])


def spans(tasks: int, warmup: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Tasks 21-70 and the last 50 for a full run; for a shorter one (a time budget) the first
    and last k tasks after the warm-up, k = half of them, so the spans never overlap."""
    k = max(1, min(50, (tasks - warmup) // 2))
    return (warmup + 1, warmup + k), (tasks - k + 1, tasks)


def collect(options: argparse.Namespace) -> dict:
    """Run Forge through the whole scenario and return the raw measures."""
    forge_root = Path(os.environ.get("FORGE_DIR") or DEFAULT_FORGE_DIR).resolve()
    os.environ["FORGE_DIR"] = str(forge_root)
    install_extension(forge_root)
    install_probe(forge_root)
    os.environ[PROBE_ENV] = "1"  # inherited by the Forge process only through this run
    root = Path(tempfile.mkdtemp(prefix="long-run-forge-"))
    forge = ForgeProcess(forge_root, root, {"sd_model_checkpoint": "randA.safetensors"}, [])
    load_before = os.getloadavg()
    started = time.monotonic()
    try:
        forge.start()
        pid = forge.proc.pid
        print(f"Forge up (pid {pid}, log {forge.log_path}), RSS {rss_mb(pid):.0f} MB", flush=True)
        run = Run(forge, options.steps, options.probe_every)
        run.enqueue(options.warmup)
        forge.api("POST", "/task-scheduler/start").raise_for_status()
        run.wait_all()
        after_warmup = run.idle_measure()
        print(f"after {options.warmup} tasks: RSS {after_warmup['rss_mb']:.1f} MB", flush=True)
        run.enqueue(options.tasks - options.warmup)
        until = started + options.minutes * 60 if options.minutes else None
        if not run.wait_all(until):
            run.stop_queue()
        at_end = run.idle_measure()
        times = task_times(forge)
    finally:
        forge.stop()
        os.environ.pop(PROBE_ENV, None)
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)
    return {
        "tasks": len(times),
        "queued": options.tasks,
        "warmup": options.warmup,
        "steps": options.steps,
        "wall_minutes": (time.monotonic() - started) / 60,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "times": times,
        "cpu_at": run.cpu_at,
        "rss_at": run.rss_at,
        "parts_at": run.parts_at,
        "load_at": run.load_at,
        "rss_steps": run.steps_seen,
        "probes_at": run.probes_at,
        "after_warmup": after_warmup,
        "at_end": at_end,
    }


def _parts(parts: dict[str, float]) -> str:
    return ", ".join(f"{k[3:].lower()} {v:.0f}" for k, v in parts.items())


def _at(samples: dict[int, float], count: int) -> float:
    """The sample taken when `count` tasks had finished (or the last one before)."""
    return samples[max(k for k in samples if k <= count)]


def report(raw: dict) -> list[str]:
    """Print the figures; return the targets missed."""
    tasks, warmup = raw["tasks"], raw["warmup"]
    (base_first, base_last), (last_first, last_last) = spans(tasks, warmup)
    cpu_at = {int(k): v for k, v in raw["cpu_at"].items()}
    rss_at = {int(k): v for k, v in raw["rss_at"].items()}
    durations = [done - start for start, done in raw["times"]]
    base = span_mean(durations, base_first, base_last)
    last = span_mean(durations, last_first, last_last)
    change = last / base - 1
    cpu_base = (_at(cpu_at, base_last) - _at(cpu_at, warmup)) / (base_last - warmup)
    cpu_last = (_at(cpu_at, tasks) - _at(cpu_at, last_first - 1)) / (tasks - last_first + 1)
    before, end = raw["after_warmup"], raw["at_end"]
    growth = end["rss_mb"] - before["rss_mb"]
    objects_before, objects_end = before["objects"], end["objects"]
    print()
    print(
        f"{tasks} tasks of 64x64, {raw['steps']} steps, one Forge process, "
        f"{raw['wall_minutes']:.1f} min; load average {raw['load_average_before'][0]:.1f} "
        f"before, {raw['load_average_after'][0]:.1f} after"
    )
    print(
        f"resident memory: {before['rss_mb']:.1f} MB after task {warmup}, "
        f"{end['rss_mb']:.1f} MB after task {tasks}: {growth:+.1f} MB "
        f"(target < {RSS_TARGET_MB:.0f})"
    )
    curve = ", ".join(f"{n}: {_at(rss_at, n):.0f}" for n in range(warmup, tasks + 1, 20))
    print(f"  RSS (MB) after task n, worker busy: {curve}")
    if before.get("rss_parts") and end.get("rss_parts"):
        print(f"  idle split (MB): {_parts(before['rss_parts'])} -> {_parts(end['rss_parts'])}")
    # one sample can sit on a brk-heap high point (+-80 MB seen between two tasks): the median
    # over a window of finished tasks says whether the level moved
    window = min(20, (tasks - warmup) // 2)
    if window >= 5:
        early = [v for k, v in rss_at.items() if warmup < k <= warmup + window]
        late = [v for k, v in rss_at.items() if tasks - window < k <= tasks]
        print(
            f"  RSS median, tasks {warmup + 1}-{warmup + window}: {statistics.median(early):.0f} "
            f"MB (min {min(early):.0f}, max {max(early):.0f}); tasks {tasks - window + 1}-{tasks}: "
            f"{statistics.median(late):.0f} MB (min {min(late):.0f}, max {max(late):.0f})"
        )
    print(
        f"mean task time: tasks {base_first}-{base_last} {base:.2f} s, tasks "
        f"{last_first}-{last_last} {last:.2f} s ({change:+.1%}, target within {TIME_TARGET:.0%}); "
        f"first task {durations[0]:.1f} s"
    )
    print(f"Forge CPU per task: same spans {cpu_base:.2f} s, {cpu_last:.2f} s")
    load_at = {int(k): v for k, v in (raw.get("load_at") or {}).items()}
    if load_at:
        loads = [
            [v for k, v in load_at.items() if first <= k <= last]
            for first, last in ((base_first, base_last), (last_first, last_last))
        ]
        if all(loads):
            print(
                "  machine's 1-minute load average over the same spans: "
                + ", ".join(
                    f"mean {statistics.fmean(x):.1f} (min {min(x):.1f}, max {max(x):.1f})"
                    for x in loads
                )
            )
    print("live objects after gc (after the warm-up -> at the end):")
    for key in (
        "processing",
        "processed",
        "pil_images",
        "tracebacks",
        "frames",
        "tasks",
        "run_results",
        "replay_outcomes",
        "tensors",
        "gc_objects",
    ):
        print(f"  {key:16} {objects_before.get(key)} -> {objects_end.get(key)}")
    for key in ("processing_referrers", "processed_referrers", "pil_referrers", "pil_sizes"):
        if objects_end.get(key):
            print(f"  {key}: {objects_end[key]}")
    failures = []
    if growth >= RSS_TARGET_MB:
        failures.append(f"RSS grew {growth:.1f} MB")
    if abs(change) > TIME_TARGET:
        failures.append(f"the last tasks' mean differs by {change:+.1%}")
    if objects_end.get("processing", 0) or objects_end.get("processed", 0):
        failures.append("processing objects alive after the run")
    if objects_end.get("pil_images", 0) > objects_before.get("pil_images", 0):
        failures.append("more PIL images alive than after the warm-up")
    for step in raw.get("rss_steps", []):
        print(
            f"  RSS step between tasks {step['from']} and {step['to']}: "
            f"{step['rss'][0]:.0f} -> {step['rss'][1]:.0f} MB; {step['parts'][0]} -> "
            f"{step['parts'][1]}; mappings {step['mappings'][:5]}"
        )
    probes = raw.get("probes_at") or {}
    if probes:
        print("  objects after gc while running (task: gc objects / processing / PIL / tensors):")
        print(
            "   ",
            ", ".join(
                f"{n}: {p['gc_objects']}/{p['processing']}/{p['pil_images']}/{p['tensors']}"
                for n, p in sorted(probes.items(), key=lambda kv: int(kv[0]))
            ),
        )
    print("targets:", "all met" if not failures else "MISSED: " + "; ".join(failures))
    return failures


def _stop(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # so that collect() stops its Forge on SIGTERM, and on SIGINT
    # even when started in the background (where SIGINT is ignored)


_EARLY: list[int] = []


def _stop_early(signum: int, _frame: object) -> None:
    """SIGUSR1: as when --minutes runs out: stop the queue after the running task, measure and
    report on the tasks done so far."""
    _EARLY.append(signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGUSR1, _stop_early)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument(
        "--probe-every",
        type=int,
        default=10,
        help="count live objects (a full gc inside Forge) every N finished tasks; 0: only at "
        "the two idle measures",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary Forge folder")
    parser.add_argument(
        "--json",
        default="test-artifacts/long_run_forge.json",
        help="where the raw measures are written",
    )
    parser.add_argument("--report", help="print the figures of an earlier run's raw file")
    parser.add_argument(
        "--minutes",
        type=float,
        help="time budget: then stop the queue after the running task and report on the "
        "tasks done so far",
    )
    options = parser.parse_args()
    if options.report:
        raw = json.loads(Path(options.report).read_text())
    else:
        if options.tasks <= options.warmup:
            parser.error("--tasks must be more than --warmup")
        raw = collect(options)
        Path(options.json).parent.mkdir(parents=True, exist_ok=True)
        Path(options.json).write_text(json.dumps(raw, indent=1, default=str))
        print(f"raw measures in {options.json}")
    return 1 if report(raw) else 0


if __name__ == "__main__":
    sys.exit(main())
