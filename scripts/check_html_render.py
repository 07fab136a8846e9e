#!/usr/bin/env python3
"""Render memreg's HTML report in headless Chromium and check the screenshot.

    cargo build && python3 scripts/check_html_render.py [--keep DIR]

Needs Debian's `chromium` (apt-get install chromium). Runs memreg on a small suite
(a scenario whose held memory regressed against its recorded baseline, one clean
scenario, one leak), writes --html, renders it with `chromium --headless
--screenshot`, and checks the page and the PNG: the regressed scenario is marked
regressed and open, the passing one folded to one line; the screenshot is the right
size, mostly white, with the chart colours of the process lines, the red of the
regression and the grey of the baseline's per-process dots present in quantity (a
blank page, a broken SVG or a missing stylesheet fails). Exits 0 when the page
rendered, 1 if not, 2 if Chromium is missing. --keep DIR keeps report.html and
screenshot.png.
"""

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEMREG = ROOT / "target" / "debug" / "memreg"
SUITE = """scenarios:
  - name: holder
    setup: data = [bytes(1000) for _ in range({n})]
    run: x = [1, 2, 3]
    iterations: 100
    warmup: 10
  - name: clean
    run: x = [1, 2, 3]
    iterations: 400
  - name: leaky
    setup: L = []
    run: L.append(object())
    iterations: 400
"""
# The process colours of the charts (src/format/html/chart.rs COLORS). Identical
# processes are drawn as nested bands, so each colour shows.
LINE_COLOURS = [(0x1F, 0x77, 0xB4), (0xD6, 0x27, 0x28), (0x2C, 0xA0, 0x2C), (0x94, 0x67, 0xBD), (0xFF, 0x7F, 0x0E)]
REGRESSED_RED = (0xCF, 0x22, 0x2E)
BASELINE_GREY = (0x8C, 0x8C, 0x8C)
WINDOW = (1280, 2400)


def read_png(path):
    """(width, height, rows of (r, g, b) tuples) for 8-bit RGB/RGBA, non-interlaced."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and colour in (2, 6) and interlace == 0, "unsupported PNG"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append([tuple(line[x * channels : x * channels + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium not found: apt-get install chromium", file=sys.stderr)
        return 2
    if not MEMREG.exists():
        print(f"build first: cargo build ({MEMREG} missing)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Record the baseline, then hold 30% more: a regressed figure.
        (tmp / "suite.yaml").write_text(SUITE.format(n=3000))
        subprocess.run(
            [str(MEMREG), "baseline", "update", "suite.yaml", "-k", "holder", "--baselines", "b"],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        (tmp / "suite.yaml").write_text(SUITE.format(n=3900))
        subprocess.run(
            [str(MEMREG), "run", "suite.yaml", "--html", "report.html", "--baselines", "b"],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
        )
        page = (tmp / "report.html").read_text()
        marks = {
            "regressed scenario open and marked": '<details class="scenario" id="s-holder" open="open"><summary><span class="label fail">regressed</span>'
            in page,
            "passing scenario folded": '<details class="scenario" id="s-clean"><summary><span class="label pass">ok</span>' in page,
            "old -> new per figure": "held_native</td><td>" in page and "-&gt;" in page,
            "per-process strip chart": 'class="strip"' in page,
            "legend": 'class="legend"' in page,
        }
        for what, ok in marks.items():
            print(f"{what}: {'yes' if ok else 'NO'}")
        shot = tmp / "screenshot.png"
        profile = tmp / "profile"
        subprocess.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--hide-scrollbars", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--screenshot={shot}", (tmp / "report.html").as_uri(),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(tmp / "report.html", args.keep / "report.html")
            shutil.copy(shot, args.keep / "screenshot.png")
        width, height, rows = read_png(shot)
        pixels = [p for row in rows for p in row]
        white = sum(1 for p in pixels if min(p) > 240) / len(pixels)
        near = lambda p, c: all(abs(p[i] - c[i]) < 40 for i in range(3))  # noqa: E731
        exact = lambda p, c: all(abs(p[i] - c[i]) < 12 for i in range(3))  # noqa: E731
        counts = [sum(1 for p in pixels if near(p, c)) for c in LINE_COLOURS]
        red = sum(1 for p in pixels if exact(p, REGRESSED_RED))
        grey = sum(1 for p in pixels if exact(p, BASELINE_GREY))
        print(
            f"screenshot {width}x{height}: {white:.0%} white, chart line pixels {counts}, "
            f"regression red {red}, baseline grey {grey}"
        )
        ok = (
            (width, height) == WINDOW
            and 0.5 < white < 0.995
            and sum(counts) > 1000
            and min(counts) > 50
            and red > 300
            and grey > 30
            and all(marks.values())
        )
        print("rendered OK" if ok else "RENDERING CHECK FAILED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
