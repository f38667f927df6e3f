#!/usr/bin/env python3
"""Memory of a long `build-site serve` session: the process tree's peak PSS over many rebuilds.

    python bench/serve_memory.py --seeds DIR [--config PATH] [--edits 100] [--jobs 2]

Copies the seeds folder (the copy is edited, never the folder given), starts `build-site serve`
on it with an output folder of its own, then --edits times appends a new sentence to the body
of one article's seed file (a different file each time, as an editor's day goes), waits for the
rebuild to be published and notes the peak PSS of serve's process tree during that rebuild
(sampled every 0.1 s, as bench/measure.py does for a build) and the PSS once it is done. Prints
every tenth rebuild and the verdict: the peak of the last rebuild within 10 % of the first's.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import edit_seed  # noqa: E402
from measure import tree_pss_kb  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_S = 0.1
BOUND = 1.10  # the last rebuild's peak over the first's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=PROJECT / "site.yaml")
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for one rebuild")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="serve-memory-"))
    seeds, output = work / "seeds", work / "out"
    shutil.copytree(args.seeds, seeds)
    command = [sys.executable, "-m", "generator", "serve", "--seeds", str(seeds), "--output", str(output),
               "--config", str(args.config), "--port", "0", "--jobs", str(args.jobs), "--quiet"]
    process = subprocess.Popen(command, cwd=PROJECT, stderr=subprocess.PIPE, text=True)
    published = threading.Semaphore(0)
    ready = threading.Event()
    lines: list[str] = []

    def read() -> None:
        for line in process.stderr:  # type: ignore[union-attr]
            lines.append(line.rstrip("\n"))
            if line.startswith("watching for changes"):
                ready.set()
            elif "published in" in line:
                published.release()

    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_S):
            peak[0] = max(peak[0], tree_pss_kb(process.pid))

    threading.Thread(target=read, daemon=True).start()
    threading.Thread(target=sample, daemon=True).start()
    try:
        started = time.monotonic()
        while not ready.wait(1):
            if process.poll() is not None:
                raise SystemExit("build-site serve stopped:\n" + "\n".join(lines[-20:]))
        print(f"serve ready after {time.monotonic() - started:.0f} s (first build); "
              f"peak {peak[0] / 1024:.0f} MB", flush=True)
        report = json.loads((output / "build-report.json").read_text(encoding="utf-8"))
        files = sorted(i["file"] for i in report["inputs"] if i["status"] == "article" and i["file"].endswith(".txt"))
        peaks, settled, seconds = [], [], []
        for n in range(1, args.edits + 1):
            time.sleep(1.0)  # the watcher's pace settles; mtimes differ
            peak[0] = 0
            edit_seed(seeds / files[(n * 7919) % len(files)], f"Une phrase ajoutée au fil de la session, numéro {n}.",
                      None)
            edited = time.monotonic()
            if not published.acquire(timeout=args.timeout):
                raise SystemExit(f"rebuild {n} not published within {args.timeout:.0f} s:\n" + "\n".join(lines[-20:]))
            seconds.append(time.monotonic() - edited)
            time.sleep(0.5)  # what the rebuild let go is gone
            peaks.append(peak[0])
            settled.append(tree_pss_kb(process.pid))
            if n == 1 or n % 10 == 0:
                print(f"rebuild {n}: {seconds[-1]:.1f} s, peak {peaks[-1] / 1024:.0f} MB, "
                      f"after it {settled[-1] / 1024:.0f} MB", flush=True)
    finally:
        done.set()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(work, ignore_errors=True)
    ratio = peaks[-1] / peaks[0]
    print(f"{len(peaks)} rebuilds, median {statistics.median(seconds):.1f} s each; peak PSS of the first "
          f"{peaks[0] / 1024:.0f} MB, of the last {peaks[-1] / 1024:.0f} MB ({ratio:.2f}x; the highest "
          f"{max(peaks) / 1024:.0f} MB); settled {settled[0] / 1024:.0f} -> {settled[-1] / 1024:.0f} MB: "
          + ("PASS" if ratio <= BOUND else "MISS") + f" (bound {BOUND:.2f}x)")


if __name__ == "__main__":
    main()
