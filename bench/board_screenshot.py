"""Render the leaderboard page and screenshot it with headless Chromium, as a visual check.

    python bench/board_screenshot.py [--store results.db] [--out-dir DIR] [--chromium PATH]

Without --store it builds a demo store (three made-up runs, three levels, several samples per
problem, a few flagged and caveated cases). It writes DIR/board.html through the real CLI
(``python -m harness.board ... html=...``), screenshots it to DIR/board.png (DIR: --out-dir,
else a new temporary folder), checks the PNG is not trivial (size, dimensions, enough distinct
colours, not mostly background) and prints its path.
Exit code 0 on success, 1 when the check fails, 2 when Chromium is missing.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.store import CaseKey, Store  # noqa: E402
from harness.verdict import (  # noqa: E402
    BEYOND_ROOFLINE, LAUNCH_BOUND, NO_CUSTOM_KERNEL, TAMPERING, UNSYNCED_WORK, Outcome, Timing,
    Verdict)

WIDTH, HEIGHT = 1400, 1800
HARDWARE = "NVIDIA H200"

# (label, skill): skill shifts the outcome mix and the speedup distribution
DEMO_RUNS = (("model-a", 0.9), ("model-b", 0.55), ("model-c", 0.25))


def _timing(speedup: float) -> Timing:
    ref = 1.0
    cand = ref / speedup
    return Timing(ref_median_ms=ref, cand_median_ms=cand, ref_iqr_ms=0.01, cand_iqr_ms=0.01,
                  ref_ci_ms=(0.99, 1.01), cand_ci_ms=(cand * 0.99, cand * 1.01), ref_calls=50,
                  cand_calls=50, speedup=speedup, speedup_ci=(speedup * 0.97, speedup * 1.03),
                  cache="cold", clock="cuda_events")


def build_demo_store(path: str | os.PathLike, seed: int = 7, problems_per_level: int = 20,
                     samples: int = 3) -> Path:
    """A deterministic, plausible-looking store to render."""
    rng = random.Random(seed)
    path = Path(path)
    if path.exists():
        path.unlink()
    with Store(path) as st:
        for label, skill in DEMO_RUNS:
            run_id = st.start_run(label)
            for level in (1, 2, 3):
                for i in range(problems_per_level):
                    pid = f"level{level}/{i + 1:03d}"
                    for s in range(samples):
                        r = rng.random()
                        hard = 0.12 * (level - 1)
                        if r < 0.08 + (1 - skill) * 0.15 + hard / 2:
                            outcome = Outcome.COMPILE_ERROR
                        elif r < 0.12 + (1 - skill) * 0.25 + hard:
                            outcome = Outcome.INCORRECT
                        elif r < 0.14 + (1 - skill) * 0.28 + hard:
                            outcome = Outcome.RUNTIME_ERROR
                        else:
                            outcome = Outcome.OK
                        v = Verdict(problem=f"problems/{pid}.py",
                                    solution=f"solutions/{label}/{pid}/{s}.py", outcome=outcome,
                                    problem_hash=f"p-{pid}", solution_hash=f"s-{label}-{pid}-{s}",
                                    hardware=HARDWARE, config_hash="demo", device="cuda:0")
                        if outcome is Outcome.OK:
                            mu = -0.35 + 0.9 * skill - 0.15 * (level - 1)
                            v.timing = _timing(2 ** rng.gauss(mu, 0.9))
                            q = rng.random()
                            if q < 0.04:
                                v.flag(NO_CUSTOM_KERNEL, "only torch ops ran")
                            elif q < 0.06:
                                v.flag(UNSYNCED_WORK, "work on a side stream")
                                v.timing = _timing(25.0)
                            elif q < 0.07:
                                v.flag(BEYOND_ROOFLINE, "faster than the bytes allow")
                                v.timing = _timing(60.0)
                            elif q < 0.075:
                                v.flag(TAMPERING, "replaced torch.cuda.synchronize")
                            elif q < 0.15:
                                v.caveat(LAUNCH_BOUND, "reference within 3x of an empty forward")
                        st.record(v, CaseKey(label, pid, str(s), level), run_id)
    return path


def _png_stats(png: Path) -> tuple[int, int, int, float]:
    """(width, height, distinct colours, share of pixels unlike the corner pixel)."""
    try:
        import numpy as np
        from PIL import Image
        with Image.open(png) as im:
            a = np.asarray(im.convert("RGB"))
        h, w = a.shape[:2]
        flat = a[::4, ::4].reshape(-1, 3).astype(int)
        colours = len(np.unique(flat, axis=0))
        busy = float((np.abs(flat - flat[0]).sum(axis=1) > 24).mean())
        return w, h, colours, busy
    except ImportError:
        pass
    # No imaging library: read the header, and count distinct bytes of the decompressed data
    # (a blank page's filtered scanlines are nearly all one or two byte values).
    data = png.read_bytes()
    w, h = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    return w, h, len(set(raw)), 1.0 if len(set(raw)) > 32 else 0.0


def check_png(png: Path) -> list[str]:
    """Problems with the screenshot (empty list: looks like a real page)."""
    if not png.is_file():
        return [f"{png} was not written"]
    problems = []
    size = png.stat().st_size
    if size < 30_000:
        problems.append(f"only {size} bytes")
    w, h, colours, busy = _png_stats(png)
    if (w, h) != (WIDTH, HEIGHT):
        problems.append(f"size {w}x{h}, expected {WIDTH}x{HEIGHT}")
    if colours < 64:
        problems.append(f"only {colours} distinct colours")
    if busy < 0.03:
        problems.append(f"only {busy:.1%} of the page differs from the background")
    return problems


def screenshot(html: Path, png: Path, chromium: str) -> None:
    with tempfile.TemporaryDirectory(prefix="board-chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}",
               html.resolve().as_uri()]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", help="results store to render (default: build a demo store)")
    ap.add_argument("--out-dir", help="where board.html and board.png go "
                                      "(default: a new temporary folder)")
    ap.add_argument("--chromium", default=shutil.which("chromium") or
                    shutil.which("chromium-browser") or "chromium")
    args = ap.parse_args(argv)

    if not shutil.which(args.chromium) and not Path(args.chromium).is_file():
        print(f"board_screenshot: chromium not found ({args.chromium})", file=sys.stderr)
        return 2
    out = Path(args.out_dir or tempfile.mkdtemp(prefix="board-screenshot-"))
    out.mkdir(parents=True, exist_ok=True)
    store = Path(args.store) if args.store else build_demo_store(out / "results-demo.db")
    html, png = out / "board.html", out / "board.png"
    subprocess.run([sys.executable, "-m", "harness.board", f"store={store}", "format=terminal",
                    f"html={html}"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    if png.exists():
        png.unlink()
    screenshot(html, png, args.chromium)
    problems = check_png(png)
    if problems:
        print(f"board_screenshot: {png}: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
