"""Server throughput against the batch runner on the same jobs, latency, and per-job overhead.

The jobs: one problem and `clients x jobs` distinct variants of one solution (a comment line
makes each a different source, so each is built and scored: nothing is a store hit). Then

1. `python -m harness.batch` scores them (pairs layout), from an empty build cache;
2. `python -m harness.serve` (started and warm first, from its own empty cache) gets them from
   `clients` threads, each a `harness.client.Client` submitting its share at once and reading
   results as they finish; latency is submit -> verdict on the client's clock;
3. overhead: the same jobs again (every one a store hit: the server's own cost per job), and
   `serial` new variants one at a time on the idle server (latency less the verdict's own build
   and case seconds).

CPU (CI-sized, minutes):  python bench/serve.py
H200, cases only (one device call, about 5 minutes: each variant is a new source but needs no
compile, so both runners score 32 cases, not 32 CUDA builds of ~90 s each):
                          python bench/serve.py --device cuda --jobs 4 --out $OUT/serve-h200.md
H200 with builds (200 relu_cuda variants: about 25 minutes of builds per runner on 16 cores):
                          python bench/serve.py --device cuda --jobs 25 --build-workers 14 \
                              --solution solutions/examples/relu_cuda.py --problem problems/level1/relu.py
Extra arguments after `--` are config overrides for both runners (e.g. -- timing.budget_s=5).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.client import Client, ServerDown   # noqa: E402
from harness.store import Store                 # noqa: E402


def variants(solution: Path, n: int, out: Path, tag: str) -> list[Path]:
    text = solution.read_text()
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        f = out / f"{solution.stem}__{tag}{i:04d}.py"
        f.write_text(f"# bench variant {tag}{i}\n{text}")
        files.append(f)
    return files


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))] if xs else float("nan")


def run_batch(args, problem: Path, files: list[Path], work: Path) -> tuple[float, float]:
    pairs = work / "pairs.json"
    pairs.write_text(json.dumps([{"problem": str(problem), "solution": str(f)} for f in files]))
    db = work / "batch.db"
    cmd = [sys.executable, "-m", "harness.batch", "layout=pairs", f"pairs={pairs}", "select=*",
           f"solutions={files[0].parent}", f"problems={problem.parent}", f"store={db}",
           f"cache_dir={work / 'cache-batch'}", f"device={args.device}", "board=false",
           "progress=false", *engine_args(args), *args.overrides]
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"batch failed: {r.stderr[-2000:]}")
    with Store(db) as s:
        case_s = sum(v.durations.get("total", 0.0) for v in s.verdicts())
    return wall, case_s


def engine_args(args) -> list[str]:
    return [f"build_workers={args.build_workers}", f"gpus={args.gpus}"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args, work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(work / "serve.log", "wb")
    p = subprocess.Popen([sys.executable, "-m", "harness.serve", f"port={port}", f"device={args.device}",
                          f"store={work / 'serve.db'}", f"cache_dir={work / 'cache-serve'}",
                          *engine_args(args), f"max_queue={10 ** 6}", *args.overrides],
                         cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    c = Client(url)
    deadline = time.monotonic() + 300
    while True:
        try:
            c.health()
            return p, url
        except ServerDown:
            if p.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"server did not start: {(work / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.3)


def clients_run(url: str, problem: Path, shares: list[list[Path]]) -> tuple[float, list[float], list]:
    """Each share from its own client thread, all at once; returns wall, latencies, verdicts."""
    lat: list[float] = []
    verdicts: list = []
    lock = threading.Lock()

    def one(share: list[Path]) -> None:
        with Client(url, name=f"bench-{threading.get_ident()}") as c:
            t0 = time.monotonic()
            jobs = c.submit_many([(problem, f) for f in share])
            for _, v in c.results(jobs):
                with lock:
                    lat.append(time.monotonic() - t0)
                    verdicts.append(v)

    threads = [threading.Thread(target=one, args=(s,)) for s in shares]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.monotonic() - t0, lat, verdicts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2, help="jobs per client")
    ap.add_argument("--serial", type=int, default=2, help="single jobs on the idle server")
    ap.add_argument("--problem", type=Path, default=ROOT / "tests" / "problems" / "small_relu.py")
    ap.add_argument("--solution", type=Path, default=ROOT / "solutions" / "adversarial" / "torch_only.py")
    ap.add_argument("--build-workers", type=int, default=0)
    ap.add_argument("--gpus", default="all")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("overrides", nargs="*", help="config overrides for both runners")
    args = ap.parse_args()
    if args.device == "cpu" and not args.overrides:
        args.overrides = ["timing.budget_s=1", "timing.min_calls=5"]
    work = args.work or Path(tempfile.mkdtemp(prefix="kh-serve-bench-"))
    problem = args.problem.resolve()
    n = args.clients * args.jobs
    files = variants(args.solution, n, work / "solutions", "v")

    batch_wall, batch_case_s = run_batch(args, problem, files, work)
    server, url = start_server(args, work)
    try:
        shares = [files[i::args.clients] for i in range(args.clients)]
        wall, lat, verdicts = clients_run(url, problem, shares)
        hit_wall, hit_lat, _ = clients_run(url, problem, shares)       # all store hits now
        serial = []
        with Client(url) as c:
            for f in variants(args.solution, args.serial, work / "serial", "s"):
                t0 = time.monotonic()
                (_, v), = c.results([c.submit(problem, f)])
                own = float(v.details.get("build", {}).get("seconds") or 0.0) + v.durations.get("total", 0.0)
                serial.append(time.monotonic() - t0 - own)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=600)
    outcomes: dict[str, int] = {}
    for v in verdicts:
        outcomes[v.outcome.value] = outcomes.get(v.outcome.value, 0) + 1
    rows = [
        ("jobs", f"{n} ({args.clients} clients x {args.jobs}), {args.solution.name} variants on "
                 f"{problem.name}, device={args.device}, {os.cpu_count()} cores; outcomes {outcomes}"),
        ("batch wall", f"{batch_wall:.1f} s ({n / batch_wall * 60:.1f} jobs/min; includes its start-up)"),
        ("server wall", f"{wall:.1f} s ({n / wall * 60:.1f} jobs/min; server warm; first submit -> last verdict)"),
        ("server / batch throughput", f"{batch_wall / wall:.2f}x"),
        ("latency p50 / p95", f"{pct(lat, 0.5):.1f} s / {pct(lat, 0.95):.1f} s (submit -> verdict, "
                              "a client submitting its share at once)"),
        ("store hit round trip p50 / p95", f"{pct(hit_lat, 0.5) * 1e3:.0f} ms / {pct(hit_lat, 0.95) * 1e3:.0f} ms "
                                           f"({n} identical jobs again: {hit_wall:.2f} s wall)"),
        ("overhead per new job (idle server)", f"{statistics.median(serial):.2f} s median of {len(serial)} "
                                               "(latency less the verdict's build + case seconds)"
         if serial else "not measured"),
        ("cases' own seconds (batch)", f"{batch_case_s:.1f} s summed durations.total"),
    ]
    table = "| figure | value |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    head = f"# bench/serve.py on {platform.node()} ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n"
    print(head + table)
    if args.out:
        args.out.write_text(head + table + "\n")


if __name__ == "__main__":
    main()
