"""Memory diagnostics for ``bench/soak.py --trace``, loaded by Python at start-up from
``PYTHONPATH`` (the soak sets it for the stack it starts, and nothing else). They apply
to the web process (uvicorn) only and write to ``$CT_SOAK_TRACE_DIR``:

* SIGUSR1 (cheap, every sample): one JSON line in ``memstats.jsonl`` — where the
  process's memory is: glibc's heap (in use / free but kept), Python's object allocator
  (arenas, blocks in use), live objects tracked by the garbage collector, threads.
* SIGRTMIN: a full garbage collection first, then the same line; SIGRTMIN+1: glibc's
  ``malloc_trim(0)`` first (what a collection or a trim would give back).
* SIGUSR2: the first (end of the warm-up) counts live objects by type (what objgraph's
  ``show_growth`` compares) and starts tracemalloc; each later one writes a snapshot and
  the counts again. A snapshot then holds only what was allocated after the warm-up and
  is still alive. Tracing slows the process: such a run is for finding causes only.
"""

import os

if os.environ.get("CT_SOAK_TRACE_DIR"):
    with open("/proc/self/cmdline", "rb") as _f:
        _argv = _f.read().split(b"\0")
    if any(b"uvicorn" in arg for arg in _argv):
        import collections
        import ctypes
        import gc
        import json
        import re
        import signal
        import sys
        import tempfile
        import threading
        import time
        import tracemalloc

        _DIR = os.environ["CT_SOAK_TRACE_DIR"]
        _state = {"taken": 0, "busy": False}
        _libc = ctypes.CDLL("libc.so.6")

        class _MallInfo2(ctypes.Structure):
            _fields_ = [
                (name, ctypes.c_size_t)
                for name in (
                    "arena",
                    "ordblks",
                    "smblks",
                    "hblks",
                    "hblkhd",
                    "usmblks",
                    "fsmblks",
                    "uordblks",
                    "fordblks",
                    "keepcost",
                )
            ]

        _libc.mallinfo2.restype = _MallInfo2

        def _pymalloc() -> dict:
            """Python's small-object allocator, from sys._debugmallocstats (C stderr)."""
            with tempfile.TemporaryFile(mode="w+") as out:
                sys.stderr.flush()
                saved = os.dup(2)
                try:
                    os.dup2(out.fileno(), 2)
                    sys._debugmallocstats()
                finally:
                    os.dup2(saved, 2)
                    os.close(saved)
                out.seek(0)
                text = out.read()
            found = {}
            for key, pattern in (
                ("arenas_now", r"# arenas allocated current\s*=\s*([\d,]+)"),
                ("arenas_peak", r"# arenas highwater mark\s*=\s*([\d,]+)"),
                ("bytes_in_blocks", r"# bytes in allocated blocks\s*=\s*([\d,]+)"),
                ("bytes_free_blocks", r"# bytes in available blocks\s*=\s*([\d,]+)"),
                ("bytes_free_pools", r"unused pools \* 16384 bytes\s*=\s*([\d,]+)"),
            ):
                match = re.search(pattern, text)
                found[key] = int(match.group(1).replace(",", "")) if match else None
            return found

        def _maps() -> list:
            """Anonymous and heap mappings holding ≥ 512 kB: [start, size kB, RSS kB, name]."""
            found, head = [], None
            with open("/proc/self/smaps") as smaps:
                for line in smaps:
                    first = line.split(None, 1)[0]
                    if "-" in first and not first.endswith(":"):
                        fields = line.split()
                        start, end = (int(x, 16) for x in fields[0].split("-"))
                        name = fields[5] if len(fields) > 5 else ""
                        head = [fields[0].split("-")[0], (end - start) // 1024, 0, name]
                    elif first == "Rss:" and head is not None:
                        head[2] = int(line.split()[1])
                        if head[2] >= 512 and (not head[3] or head[3].startswith("[")):
                            found.append(head)
            return found

        def _memstats(signum, frame):
            info = _libc.mallinfo2()
            line = {
                "t": time.time(),
                "glibc_in_use": info.uordblks,
                "glibc_free": info.fordblks,
                "glibc_mmap": info.hblkhd,
                "glibc_heap": info.arena,
                "py_blocks": sys.getallocatedblocks(),
                "gc_objects": len(gc.get_objects()),
                "threads": threading.active_count(),
                "maps": _maps(),
                **_pymalloc(),
            }
            with open(os.path.join(_DIR, "memstats.jsonl"), "a") as out:
                out.write(json.dumps(line) + "\n")

        def _counts(where: str) -> None:
            counts = collections.Counter(
                f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
            )
            current, peak = tracemalloc.get_traced_memory()
            with open(where + ".json", "w") as out:
                json.dump(
                    {
                        "traced": current,
                        "traced_peak": peak,
                        "gc_count": gc.get_count(),
                        "gc_frozen": gc.get_freeze_count(),
                        "objects": sum(counts.values()),
                        "types": dict(counts.most_common(600)),
                    },
                    out,
                )

        def _dump(signum, frame):
            if _state["busy"]:
                return
            _state["busy"] = True
            try:
                _state["taken"] += 1
                where = os.path.join(_DIR, f"web-{_state['taken']:03d}")
                if not tracemalloc.is_tracing():
                    _counts(where)
                    tracemalloc.start(int(os.environ.get("CT_SOAK_TRACE_FRAMES", "10")))
                    return
                snapshot = tracemalloc.take_snapshot().filter_traces(
                    [tracemalloc.Filter(False, tracemalloc.__file__)]
                )
                snapshot.dump(where + ".snap")
                del snapshot
                _counts(where)
            finally:
                _state["busy"] = False

        def _collect(signum, frame):
            started = time.perf_counter()
            line = {"collected": gc.collect(), "ms": (time.perf_counter() - started) * 1000}
            with open(os.path.join(_DIR, "memstats.jsonl"), "a") as out:
                out.write(json.dumps(line) + "\n")
            _memstats(signum, frame)

        def _trim(signum, frame):
            _libc.malloc_trim(0)
            _memstats(signum, frame)

        signal.signal(signal.SIGUSR1, _memstats)
        signal.signal(signal.SIGRTMIN, _collect)
        signal.signal(signal.SIGRTMIN + 1, _trim)
        signal.signal(signal.SIGUSR2, _dump)
