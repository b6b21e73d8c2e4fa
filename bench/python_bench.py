#!/usr/bin/env python3
"""Benchmarks of the Python package, each beside a baseline from the same run.

    PYTHONPATH=<build>/python /usr/bin/python3 bench/python_bench.py [--runs N] [--data DIR]

- dump_metric from Python, median ns per call over repetitions; baseline:
  an empty pybind11 call (_core.noop) and a bare Python method call.
- Watcher().load() of every run of the sweep (bench/sweep_generator.cc,
  the same sweep as lumodb_bench) into lumo's DataFrame, in a fresh
  process; load(columns=[3 columns]); a reload in the same process with 10
  live runs changed. Baseline: json.loads of the same rows (lumo's rows as
  JSON lines, written once) plus pandas.DataFrame, in the same run.

The sweep must exist (lumodb_bench makes it: $LUMODB_BENCH_DATA/sweep-N);
its index is rebuilt once into <data>/python-sweep-N-index with lumo-db
reindex. Prints one table; figures are medians of --repeats runs.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_dump_metric(repeats, calls=200_000):
    import lumodb
    from lumodb import _core
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"home": tmp + "/h", "info_root": tmp + "/h/e", "blob_root": tmp + "/h/b",
                 "cache_root": tmp + "/c"}
        os.environ["LUMODB_GIT_SNAPSHOT"] = "0"
        exp = lumodb.Experiment("bench.py", roots=roots)
        exp.start()
        dm = exp.dump_metric
        noop = _core.noop

        class Empty:
            def call(self, key, value, cmp=None):
                return value
        empty = Empty().call

        def loop_metric():
            v = 0.5
            for i in range(calls):
                dm("loss", v, "min")

        def loop_noop():
            for i in range(calls):
                noop()

        def loop_empty():
            for i in range(calls):
                empty("loss", 0.5, "min")

        def loop_step():
            for i in range(calls):
                dm("acc", 0.5, "max", step=i)
        out = {
            "dump_metric": median_time(loop_metric, repeats) / calls * 1e9,
            "dump_metric with step": median_time(loop_step, repeats) / calls * 1e9,
            "empty pybind11 call": median_time(loop_noop, repeats) / calls * 1e9,
            "empty Python method": median_time(loop_empty, repeats) / calls * 1e9,
        }
        exp.end()
        return out


CHILD_LOAD = r"""
import json, sys, time
t0 = time.perf_counter()
import lumodb
t1 = time.perf_counter()
w = lumodb.Watcher(roots={"info_root": sys.argv[1], "cache_root": sys.argv[3]}, db=sys.argv[2], quiet=True)
cols = json.loads(sys.argv[4])
t2 = time.perf_counter()
df = w.load(columns=cols) if cols else w.load()
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t3 - t2, "total": t3 - t0, "rows": len(df),
                  "columns": len(df.columns)}))
"""

CHILD_BASELINE = r"""
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
df = pd.DataFrame(rows)
t1 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "rows": len(df), "columns": len(df.columns)}))
"""


def child(code, *args):
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True, env=dict(os.environ))
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_index(sweep, index, lumo_db):
    stamp = os.path.join(index, ".bench-complete")
    if os.path.exists(stamp):
        return
    subprocess.run([lumo_db, "--db", index, "--info-root", sweep + "/info",
                    "--cache-root", sweep + "/cache", "reindex"], check=True,
                   stdout=subprocess.DEVNULL)
    open(stamp, "w").close()


def ensure_rows(info_root, index, cache_root, path):
    if os.path.exists(path):
        return
    import lumodb
    w = lumodb.Watcher(roots={"info_root": info_root, "cache_root": cache_root}, db=index,
                       quiet=True)
    df = w.load()
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for row in df.to_dict("records"):
            clean = {k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
            f.write(json.dumps(clean) + "\n")
    os.replace(path + ".tmp", path)


def bench_reload(info_root, index, cache_root, repeats):
    import lumodb
    os.environ["LUMODB_GIT_SNAPSHOT"] = "0"
    # The live runs go to a temporary info_root (the sweep stays as it is);
    # the index gains them (10 runs each time this runs).
    tmp = tempfile.mkdtemp(prefix="lumodb-pybench-")
    roots = {"info_root": tmp + "/info", "cache_root": tmp + "/cache", "blob_root": tmp + "/blob"}
    exp_name = f"bench.reload.{os.getpid()}"  # test_names restart in each new info_root
    live = [lumodb.Experiment(exp_name, roots=roots) for _ in range(10)]
    for e in live:
        e.start()
        e.flush()
    w = lumodb.Watcher(roots=roots, db=index, quiet=True)
    w.load()
    times, nothing = [], []
    for r in range(repeats):
        for e in live:
            e.dump_note(f"round {r}")
            e.flush()
        t = time.perf_counter()
        df = w.load()
        times.append(time.perf_counter() - t)
        mine = df[df["exp_name"] == exp_name]
        assert set(mine["note"]) == {f"round {r}"}, set(mine["note"])
        t = time.perf_counter()
        w.load()
        nothing.append(time.perf_counter() - t)
    for e in live:
        e.end()
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    return statistics.median(times), statistics.median(nothing)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=int(os.environ.get("LUMODB_BENCH_RUNS", 100000)))
    ap.add_argument("--data", default=os.environ.get("LUMODB_BENCH_DATA", "bench-data"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--lumo-db", default=os.path.join(os.path.dirname(
        os.path.dirname(os.path.abspath(__import__("lumodb").__file__))), "..", "lumo-db"))
    args = ap.parse_args()
    sweep = os.path.join(args.data, f"sweep-{args.runs}")
    if not os.path.exists(os.path.join(sweep, "complete")):
        sys.exit(f"python_bench: no sweep at {sweep}; run lumodb_bench once to make it")
    index = os.path.join(args.data, f"python-sweep-{args.runs}-index")
    ensure_index(sweep, index, os.path.abspath(args.lumo_db))
    info_root, cache_root = sweep + "/info", sweep + "/cache"
    rows_path = os.path.join(args.data, f"python-sweep-{args.runs}-rows.jsonl")
    ensure_rows(info_root, index, cache_root, rows_path)

    results = []
    dm = bench_dump_metric(args.repeats)
    for k, v in dm.items():
        results.append((k, f"{v:.0f} ns"))
    loads, cols, base = [], [], []
    for _ in range(args.repeats):
        base.append(child(CHILD_BASELINE, rows_path))
        loads.append(child(CHILD_LOAD, info_root, index, cache_root, "null"))
        cols.append(child(CHILD_LOAD, info_root, index, cache_root,
                          json.dumps(["params.lr", "metrics.acc", "status"])))
    med = lambda xs, k: statistics.median(x[k] for x in xs)  # noqa: E731
    results.append((f"Watcher().load(), {loads[0]['rows']} runs x {loads[0]['columns']} columns",
                    f"{med(loads, 'load'):.3f} s (process {med(loads, 'total'):.3f} s)"))
    results.append(("load(columns=[3])", f"{med(cols, 'load'):.3f} s (process {med(cols, 'total'):.3f} s)"))
    results.append(("baseline: json.loads of the rows + pd.DataFrame",
                    f"{med(base, 'load'):.3f} s"))
    changed, nothing = bench_reload(info_root, index, cache_root, args.repeats)
    results.append(("reload, 10 live runs changed", f"{changed * 1000:.1f} ms"))
    results.append(("reload, nothing changed", f"{nothing * 1000:.2f} ms"))
    width = max(len(k) for k, _ in results)
    for k, v in results:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
