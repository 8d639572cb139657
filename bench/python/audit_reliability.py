"""Hostile-input audit: runs every property of tests/test_fuzz.py (the seeded hypothesis
examples) and counts the outcomes, then the Ctrl-C and thread-count checks; prints the table
of bench/results/reliability.md.

    PYTHONPATH=python python3 bench/python/audit_reliability.py
"""
import importlib.util
import pathlib
import time
import traceback

root = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("test_fuzz", root / "tests" / "test_fuzz.py")
fz = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fz)

failures = []
t0 = time.perf_counter()
props = [n for n in dir(fz) if n.startswith("test_")]
for name in props:
    try:
        getattr(fz, name)()
    except Exception as exc:  # a property that failed: a crash-free but wrong behaviour
        failures.append((name, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"))
        traceback.print_exc(limit=1)
dt = time.perf_counter() - t0
total = sum(fz.OUTCOMES.values())
print(f"| properties | {len(props)} |")
print(f"| hostile calls | {total} |")
for k, v in sorted(fz.OUTCOMES.items()):
    print(f"| {k} | {v} |")
print(f"| failed properties (other exception, foreign message, silent NaN) | {len(failures)} |")
print(f"| seconds | {dt:.1f} |")
for n, m in failures:
    print(f"- {n}: {m}")
