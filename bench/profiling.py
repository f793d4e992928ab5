"""Profile helpers for `bench.run --profile`: py-spy (sampling, attached) or cProfile (in-process fallback).

py-spy writes collapsed stacks ("frame;frame;...;leaf count" per line, root first); `summarize_collapsed`
turns them into a text report: time by component (each sample goes to the innermost frame that belongs to
a known library), the top frames by self time, and the top Python functions by total (inclusive) time.

Re-summarize a saved profile with `python -m bench.profiling bench/results/profile.raw`.
"""

from __future__ import annotations

import argparse
import io
import pstats
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_FRAME_RE = re.compile(r"^(?P<name>.*?) \((?P<loc>[^()]*)\)$")

# Native source files (py-spy shows basenames) of the C extensions on the request path.
_UVLOOP_C = frozenset(
    "loop.c core.c stream.c linux.c loop-watcher.c tcp.c timer.c uv-common.c queue.h poll.c async.c "
    "signal.c process.c heap-inl.h idna.c getaddrinfo.c fs.c threadpool.c".split()
)
_HTTPTOOLS_C = frozenset("parser.c llhttp.c api.c http.c url_parser.c url_cb.c".split())
_HIREDIS_C = frozenset("reader.c read.c sds.c hiredis.c pack.c alloc.c".split())
# libc functions that are system calls: time spent in the kernel (socket I/O, mostly).
_SYSCALLS = frozenset(
    "read write writev readv send recv sendmsg recvmsg sendto recvfrom epoll_wait epoll_ctl epoll_pwait "
    "accept accept4 close getpid clock_gettime __libc_write __libc_read __GI___libc_write __GI___libc_read "
    "__GI___writev __GI___readv __send __recv syscall".split()
)

EVENT_LOOP = "uvloop event loop (epoll, socket reads, callbacks)"
# The loop's own Python frames: time "in" them is time in uvloop's C loop (with --nonblocking).
_LOOP_FRAMES = frozenset({"Runner.run", "run_until_complete", "run_forever", "asyncio_run"})


def pyspy_binary() -> str | None:
    """py-spy next to this interpreter (installed in the venv), else on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    if local.is_file():
        return str(local)
    return shutil.which("py-spy")


def record_pyspy(
    binary: str, pid: int, seconds: int, out: Path, *, rate: int, native: bool, nonblocking: bool, pin: list[str]
) -> subprocess.Popen[str]:
    """Start `py-spy record` on `pid` for `seconds`; the caller waits for it (bounded)."""
    cmd = [*pin, binary, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", str(rate)]
    cmd += ["--format", "raw", "--output", str(out)]
    if native:
        cmd.append("--native")
    if nonblocking:
        cmd.append("--nonblocking")  # never pauses the server; Python frames only
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def perf_binary() -> str | None:
    return shutil.which("perf")


def record_perf(binary: str, pid: int, seconds: int, out: Path, *, pin: list[str]) -> subprocess.Popen[str]:
    """`perf record` (timer sampling: no bias toward syscalls, sees C and the kernel, not Python names)."""
    out.unlink(missing_ok=True)  # else perf keeps the previous file as <out>.old
    cmd = [*pin, binary, "record", "-e", "cpu-clock", "-F", "999", "-p", str(pid), "-o", str(out)]
    return subprocess.Popen(
        [*cmd, "--", "sleep", str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


_PERF_LINE = re.compile(r"^\s+([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.+?)\s*$")
_GC_SYMBOLS = re.compile(
    r"^(gc_collect\w*|collect\w*|visit_\w+|subtract_refs|update_refs|move_\w+|deduce_unreachable|\w+_?traverse)$"
)
_DSO_GROUPS = (
    ("libpython", "CPython interpreter (all Python code: uvicorn, starlette, redis-py, ours; GC)"),
    ("kernel", "kernel (syscalls, TCP loopback, scheduling)"),
    ("loop.cpython", "uvloop/libuv (C)"),
    ("parser.cpython", "httptools (C)"),
    ("url_parser.cpython", "httptools (C)"),
    ("_asyncio.cpython", "asyncio C accelerator (tasks, futures)"),
    ("hiredis", "hiredis (C)"),
    ("orjson", "orjson"),
    ("libcrypto", "HMAC (libcrypto, _hashlib)"),
    ("_hashlib", "HMAC (libcrypto, _hashlib)"),
    ("libc.so", "libc (malloc, memcpy)"),
)


def summarize_perf(binary: str, data: Path, *, top: int = 25) -> tuple[str, dict[str, Any]]:
    """Time by shared object and by symbol, and the share of CPython's cyclic GC."""
    report = subprocess.run(
        [binary, "report", "-i", str(data), "--stdio", "--no-children", "-g", "none", "--sort", "dso,sym"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    rows = [m.groups() for line in report.stdout.splitlines() if (m := _PERF_LINE.match(line))]
    by_group: Counter[str] = Counter()
    gc_share = 0.0
    dso_pct: Counter[str] = Counter()
    for pct, dso, _, symbol in rows:
        dso_pct[dso] += float(pct)
        if "libpython" in dso and _GC_SYMBOLS.match(symbol):
            gc_share += float(pct)
    for dso, pct in dso_pct.items():
        group = next((label for key, label in _DSO_GROUPS if key in dso), f"other ({dso})")
        by_group[group if pct >= 0.5 or not group.startswith("other") else "other"] += pct
    out = io.StringIO()
    out.write("perf record -e cpu-clock (all CPU of the server process, C and kernel; no Python names)\n")
    for label, pct in sorted(by_group.items(), key=lambda kv: -kv[1]):
        out.write(f"  {pct:5.1f}%  {label}\n")
    out.write(
        f"  CPython cyclic GC, part of the interpreter line (gc_collect_main, visit_*, *traverse): {gc_share:.1f}%\n"
    )
    out.write(f"\nTop {top} symbols\n")
    for pct, dso, _, symbol in rows[:top]:
        out.write(f"  {float(pct):5.1f}%  {symbol}  ({dso})\n")
    summary = {
        "by_library_pct": {label: round(pct, 1) for label, pct in by_group.most_common()},
        "gc_pct": round(gc_share, 1),
        "top_symbols_pct": {f"{symbol} ({dso})": float(pct) for pct, dso, _, symbol in rows[:top]},
    }
    if not rows:
        return f"perf report gave nothing: {report.stderr.strip()[-300:]}\n", {}
    return out.getvalue(), summary


def _split_frame(frame: str) -> tuple[str, str]:
    """("name", "file") from "name (file:line)" or "name (lib.so)"."""
    match = _FRAME_RE.match(frame)
    if match is None:
        return frame, ""
    loc = match["loc"]
    head, sep, tail = loc.rpartition(":")
    if sep and tail.isdigit():
        loc = head
    return match["name"], loc


def _component(name: str, file: str, *, leaf: bool) -> str | None:
    """The library a frame belongs to, or None for generic frames (CPython internals, libc helpers)."""
    base = file.rsplit("/", 1)[-1]
    if name in _LOOP_FRAMES and leaf:
        return EVENT_LOOP
    if "consent_service/" in file:
        return "consent_service (our code)"
    if file.startswith("uvicorn/") or "/uvicorn/" in file:
        return "uvicorn"
    if file.startswith("starlette/") or "/starlette/" in file:
        return "starlette"
    if file.startswith("itsdangerous/") or "/itsdangerous/" in file or base in ("hmac.py", "hashlib.py"):
        return "itsdangerous + hmac/hashlib"
    if "_hashlib" in file or "libcrypto" in file or base in ("_hashopenssl.c", "sha256.c"):
        return "itsdangerous + hmac/hashlib"
    if file.startswith("redis/") or "/redis/" in file:
        return "redis-py"
    if "hiredis" in file or base in _HIREDIS_C:
        return "hiredis (C)"
    if "orjson" in file or "orjson" in name:
        return "orjson"
    if file.startswith("httptools/") or "/httptools/" in file or base in _HTTPTOOLS_C:
        return "httptools (C)"
    if file.startswith("uvloop/") or "/uvloop/" in file or base in _UVLOOP_C:
        return EVENT_LOOP
    if file.startswith("asyncio/") or "/asyncio/" in file or base == "_asynciomodule.c":
        return "asyncio (tasks, futures, wait_for, timeout)"
    if "libc.so" in file or "libpthread" in file:
        return "kernel (socket syscalls)" if leaf and name in _SYSCALLS else None
    if file.endswith(".py") and not file.startswith("<"):
        return "other stdlib"
    return None


def _label(name: str, file: str) -> str:
    return f"{name} ({file})" if file else name


def read_collapsed(path: Path) -> list[tuple[list[str], int]]:
    samples: list[tuple[list[str], int]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples.append((stack.split(";"), int(count)))
    return samples


def summarize_collapsed(samples: Iterable[tuple[list[str], int]], *, top: int = 25) -> tuple[str, dict[str, Any]]:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    python_total: Counter[str] = Counter()
    ours_total: Counter[str] = Counter()
    components: Counter[str] = Counter()
    n = 0
    for frames, count in samples:
        n += count
        parsed = [_split_frame(f) for f in frames]
        leaf_name, leaf_file = parsed[-1]
        own[_label(leaf_name, leaf_file)] += count
        for label in {_label(name, file) for name, file in parsed}:
            total[label] += count
        for label in {_label(name, file) for name, file in parsed if file.endswith(".py")}:
            python_total[label] += count
            if "consent_service/" in label:
                ours_total[label] += count
        component = None
        for depth in range(len(parsed) - 1, -1, -1):
            name, file = parsed[depth]
            component = _component(name, file, leaf=depth == len(parsed) - 1)
            if component is not None:
                break
        components[component or "CPython internals (no identifiable caller)"] += count
    if n == 0:
        return "no samples\n", {"samples": 0}

    def pct(value: int) -> float:
        return round(100.0 * value / n, 1)

    out = io.StringIO()
    out.write(f"samples: {n}\n\n")
    out.write(
        "Self time by component: each sample counted once, at its innermost frame of a known library. Without\n"
        "--native only Python frames are seen, so C code counts for the Python function that called it (socket\n"
        "writes: uvicorn's send and redis-py; hiredis: redis-py; orjson: json_response; HMAC: itsdangerous;\n"
        "uvloop's C loop, with httptools parsing before the Python callbacks: the event loop).\n"
    )
    for name in sorted(components, key=lambda c: -components[c]):
        out.write(f"  {pct(components[name]):5.1f}%  {name}\n")
    out.write(f"\nTop {top} frames by self time\n")
    for label, count in own.most_common(top):
        out.write(f"  {pct(count):5.1f}%  {label}\n")
    # Frames on (nearly) every stack, e.g. the event loop's run_forever, say nothing: skip them.
    inclusive = [(label, c) for label, c in python_total.most_common() if c < 0.97 * n]
    out.write(f"\nTop {top * 2} Python functions by total time (on < 97% of stacks)\n")
    for label, count in inclusive[: top * 2]:
        out.write(f"  {pct(count):5.1f}%  {label}\n")
    out.write("\nconsent_service functions by total time\n")
    for label, count in ours_total.most_common(top):
        out.write(f"  {pct(count):5.1f}%  {label}\n")
    summary: dict[str, Any] = {
        "samples": n,
        "components_pct": {name: pct(components[name]) for name in sorted(components, key=lambda c: -components[c])},
        "top_self_pct": {label: pct(c) for label, c in own.most_common(top)},
        "top_total_python_pct": {label: pct(c) for label, c in inclusive[: top * 2]},
        "consent_service_total_pct": {label: pct(c) for label, c in ours_total.most_common(top)},
    }
    return out.getvalue(), summary


def summarize_pstats(path: Path, *, top: int = 30) -> tuple[str, dict[str, Any]]:
    """cProfile fallback: top functions by own time (tottime) and by cumulative time."""
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs()
    out.write("cProfile (deterministic; adds overhead to every Python call, so pure-Python code looks costlier)\n\n")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    raw: Any = stats.stats  # type: ignore[attr-defined]
    by_own = sorted(raw.items(), key=lambda kv: -kv[1][2])[:top]
    summary = {
        "top_tottime_s": {f"{func[2]} ({func[0]}:{func[1]})": round(v[2], 4) for func, v in by_own},
    }
    return out.getvalue(), summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Summarize a py-spy raw (collapsed) profile or a cProfile file.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    if args.file.suffix in (".prof", ".pstats"):
        text, _ = summarize_pstats(args.file, top=args.top)
    else:
        text, _ = summarize_collapsed(read_collapsed(args.file), top=args.top)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
