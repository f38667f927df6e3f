"""Run one command in a child process and measure it: wall, CPU, peak memory.

* wall: time.perf_counter() around the child, start to exit.
* CPU: user + sys from os.wait4's rusage of that child. Linux folds into it every descendant
  the child waited for (a process pool's workers, Pagefind run by the render stage), so it is
  the CPU of the whole process tree.
* peak_rss_mb: ru_maxrss of the same rusage: the peak RSS of the LARGEST single process of
  the tree (the child or any waited-for descendant), not a sum. Linux carries the RSS of the
  process that forked into a child's ru_maxrss across exec, so commands are not forked from
  the bench (which holds spaCy models for the bare NER run) but from a small launcher
  (this file run as a script), which also times wall and reports the rusage: figures have a
  floor of about 10 MB, the launcher's own size.
* tree_pss_mb: the peak, sampled every 0.2 s, of the summed PSS (proportional set size, so
  pages shared by forked workers count once) of the child and all its live descendants:
  what the build takes from the machine at once. A peak shorter than the interval may be
  missed. peak_processes: the processes of the tree at that peak, as "name MB", largest first.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SAMPLE_S = 0.2


class CommandFailed(RuntimeError):
    pass


@dataclass
class Measured:
    wall: float
    user: float
    sys: float
    peak_rss_mb: float
    tree_pss_mb: float
    peak_processes: list[str] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    def as_dict(self) -> dict[str, float]:
        out = {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}
        out["cpu"] = round(self.cpu, 3)
        return out


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                out.extend(int(c) for c in handle.read().split())
    except OSError:
        pass
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip()
    except OSError:
        return "?"


def tree_pss(root: int) -> list[tuple[int, str, int]]:
    """(pid, name, PSS in kB) of ROOT and each of its live descendants."""
    parts, stack, seen = [], [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        parts.append((pid, _name(pid), _pss_kb(pid)))
        stack.extend(_children(pid))
    return parts


def tree_pss_kb(root: int) -> int:
    return sum(kb for _, _, kb in tree_pss(root))


def run_measured(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
                 check: bool = True) -> Measured:
    """Run cmd to completion in a child process; raise CommandFailed with its stderr tail."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".json") as result:
        launcher = [sys.executable, "-S", __file__, result.name, *map(str, cmd)]
        proc = subprocess.Popen(launcher, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        peak: list[Any] = [0, []]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_S):
                parts = tree_pss(proc.pid)[1:]  # the launcher aside
                total = sum(kb for _, _, kb in parts)
                if total > peak[0]:
                    peak[:] = [total, [f"{name} {kb // 1024}" for _, name, kb in sorted(parts, key=lambda p: -p[2])]]

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        proc.wait()
        done.set()
        sampler.join()
        if check and proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace").strip().splitlines()[-5:]
            raise CommandFailed(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n  " + "\n  ".join(tail))
        figures = json.loads(Path(result.name).read_text())
    return Measured(wall=figures["wall"], user=figures["user"], sys=figures["sys"],
                    peak_rss_mb=figures["maxrss_kb"] / 1024, tree_pss_mb=peak[0] / 1024, peak_processes=peak[1])


def _launch(result: str, cmd: list[str]) -> int:
    """Fork and exec cmd from this small process; write its wall and rusage to result."""
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    with open(result, "w") as handle:
        json.dump({"wall": wall, "user": usage.ru_utime, "sys": usage.ru_stime, "maxrss_kb": usage.ru_maxrss},
                  handle)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(_launch(sys.argv[1], sys.argv[2:]))
