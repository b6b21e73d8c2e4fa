"""lumodb.Watcher: lumo's DataFrame from the index, incremental reloads."""
import json
import math
import os

import pandas as pd
import pytest

import lumodb
from conftest import FIXTURES


def cell(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def import_fixture(fixture_tree, tmp_path):
    w = lumodb.Watcher(roots={"home": str(fixture_tree / "lumo-home"),
                              "info_root": str(fixture_tree / "lumo-home" / "experiments"),
                              "cache_root": str(fixture_tree / "lumo-cache")},
                       db=str(tmp_path / "index"), quiet=True)
    w._core.import_lumo([str(fixture_tree / "lumo-home" / "experiments")])
    return w


def test_the_fixture_frame_equals_lumos_own_cell_for_cell(fixture_tree, tmp_path):
    with open(os.path.join(FIXTURES, "lumo-watcher-load.json"), encoding="utf-8") as f:
        lumo = json.load(f)
    df = import_fixture(fixture_tree, tmp_path).load()
    assert list(df.columns) == lumo["columns"]
    assert list(df.shape) == lumo["shape"]
    assert {c: str(t) for c, t in df.dtypes.items()} == lumo["dtypes"]
    home = str(fixture_tree / "lumo-home")
    for i, want in enumerate(lumo["rows"]):
        for c in lumo["columns"]:
            got = cell(df.iloc[i][c])
            if c == "info_dir":
                # lumo's frame names the temporary home it ran in.
                assert got == want[c].replace("<home>/.lumo", home)
                continue
            assert got == want.get(c), (want["test_name"], c)


def test_with_pandas_false_is_lumos_dict(fixture_tree, tmp_path):
    rows = import_fixture(fixture_tree, tmp_path).load(with_pandas=False)
    assert len(rows) == 13
    assert rows["261128.002.b1t"]["exception"]["exception_type"] == "RuntimeError"
    assert "rerun" not in rows["261128.001.cat"]  # absent, not NaN


def test_columns_read_only_what_they_name(fixture_tree, tmp_path):
    df = import_fixture(fixture_tree, tmp_path).load(columns=["params.lr", "metrics.acc", "status"])
    assert list(df.columns) == ["exp_name", "test_name", "params.lr", "metrics.acc", "status"]
    assert len(df) == 13
    assert df["metrics.acc"].dtype == "float64"
    killed = df.set_index("test_name").loc["261128.003.6at"]
    assert killed["status"] == "killed"  # lumo shows it running for ever


def test_query_progress_and_metrics(roots, watcher):
    runs = []
    for lr in (0.1, 0.2, 0.3):
        exp = lumodb.Experiment("py.query", roots=roots)
        exp.start()
        exp.dump_info("params", {"lr": lr})
        for step in range(1000):
            exp.dump_metric("loss", lr * (1000 - step) + (50 if step == 500 else 0), cmp="min",
                            step=step * 2)
        exp.end()
        runs.append(exp)
    alive = lumodb.Experiment("py.query", roots=roots)
    alive.start()
    w = watcher()
    top = w.query("params.lr >= 0.2", sort="-params.lr", limit=1)
    assert list(top["test_name"]) == [runs[2].test_name]
    assert top.iloc[0]["params"] == {"lr": 0.3}
    assert list(w.progress()["test_name"]) == [alive.test_name]
    m = w.metrics(runs[0].test_name, "loss")
    assert len(m) == 1000 and list(m["step"][:3]) == [0, 2, 4]
    assert str(m["time"].dtype).startswith("datetime64")
    d = w.metrics(runs[0].test_name, "loss", points=40)
    assert len(d) <= 40
    assert d["value"].max() == m["value"].max()  # the spike survives
    assert d["value"].min() == m["value"].min()
    with pytest.raises(KeyError, match="nothing"):
        w.metrics(runs[0].test_name, "nothing")
    alive.end()


def test_incremental_reload_sees_a_new_run_and_a_changed_note(roots, watcher):
    first = lumodb.Experiment("py.live", roots=roots)
    first.start()
    first.dump_note("before")
    first.flush()
    w = watcher()
    df = w.load()
    assert list(df["note"]) == ["before"]
    latest = w._latest
    assert latest > 0

    first.dump_note("after")
    second = lumodb.Experiment("py.live", roots=roots)
    second.start()
    first.flush()
    second.flush()
    again = w.load()
    assert again is df or len(again) == 2  # updated, not rebuilt from scratch
    assert list(again["test_name"]) == sorted([first.test_name, second.test_name])
    assert again.set_index("test_name").loc[first.test_name, "note"] == "after"
    runs, newer = w._core.changed(latest)
    assert sorted(t for _, t in runs) == sorted([first.test_name, second.test_name])
    assert newer == w._latest and newer > latest

    # Nothing changed: the same frame, nothing re-read.
    assert w.load() is again
    assert w._core.changed(w._latest)[0] == []

    first.end()
    second.end()
    final = w.load()
    assert final is again  # in place: no new rows
    assert {r["end_code"] for r in final["progress"]} == {0}


def test_a_frame_from_a_fresh_process_equals_the_incremental_one(roots, watcher):
    for i in range(5):
        with lumodb.Experiment("py.same", roots=roots) as exp:
            exp.dump_metric("acc", i / 10, cmp="max")
    w = watcher()
    w.load()
    extra = lumodb.Experiment("py.same", roots=roots)
    extra.start()
    extra.dump_info("params", {"lr": 1e-3})
    extra.end()
    incremental = w.load()
    fresh = watcher().load()
    pd.testing.assert_frame_equal(incremental.reset_index(drop=True), fresh)


def test_cells_are_each_runs_own(roots, watcher):
    # Equal strings may be one object (they cannot change); equal dicts and
    # lists never are: changing one run's cell leaves the others as read.
    for _ in range(3):
        with lumodb.Experiment("py.own", roots=roots) as exp:
            exp.dump_info("params", {"lr": 0.1, "layers": [64, 64]})
    df = watcher().load()
    df["params"].iloc[0]["lr"] = 99
    df["params"].iloc[0]["layers"].append(32)
    assert [p["lr"] for p in df["params"]] == [99, 0.1, 0.1]
    assert [p["layers"] for p in df["params"]] == [[64, 64, 32], [64, 64], [64, 64]]
    assert len({id(p) for p in df["paths"]}) == 3


def test_a_trainer_thread_logs_while_another_thread_reads(roots, watcher):
    # The engine reads on a thread of its own, and the reading thread lets
    # the GIL go between chunks of rows: a trainer thread's dump_metric goes
    # on during a read, never stopped for all of it. With the GIL held for
    # the whole read, the trainer's longest pause would be the read itself.
    import sys
    import threading
    import time
    wide = {f"p{k}": k / 7 for k in range(300)}  # makes each run slow to build
    for i in range(200):
        with lumodb.Experiment("py.many", roots=roots) as exp:
            exp.dump_info("params", dict(wide, lr=i / 1000))
    w = watcher()
    w.load()
    trainer = lumodb.Experiment("py.trainer", roots=roots)
    trainer.start()
    stamps = []
    stop = threading.Event()

    def log():
        while not stop.is_set():
            trainer.dump_metric("loss", 0.5, cmp="min")
            stamps.append(time.perf_counter())

    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    t = threading.Thread(target=log)
    t.start()
    reads = []
    try:
        for _ in range(5):
            start = time.perf_counter()
            order, cells = w._core.lumo_frame()
            reads.append((start, time.perf_counter()))
            assert cells.shape == (len(order), 200)
    finally:
        sys.setswitchinterval(interval)
        stop.set()
        t.join()
        trainer.end()
    never_stopped = 0
    for start, end in reads:
        points = [start] + [s for s in stamps if start < s < end] + [end]
        longest = max(b - a for a, b in zip(points, points[1:]))
        never_stopped += longest < (end - start) / 2
    assert never_stopped >= 3, [(round(e - s, 4)) for s, e in reads]


def test_named_columns_have_the_dtypes_pandas_would_infer(roots, watcher):
    values = [{"n": 1, "x": 0.5, "k": 1}, {"n": 2, "x": 1, "k": "a"}, {"n": 3, "k": 2}]
    for params in values:
        with lumodb.Experiment("py.dtypes", roots=roots) as exp:
            exp.dump_info("params", params)
    w = watcher()
    df = w.load(columns=["params.n", "params.x", "params.k"])
    expected = pd.DataFrame({"n": [p.get("n") for p in values], "x": [p.get("x") for p in values],
                             "k": [p.get("k") for p in values]})
    for ours, theirs in (("params.n", "n"), ("params.x", "x"), ("params.k", "k")):
        assert df[ours].dtype == expected[theirs].dtype, ours
        assert df[ours].tolist() == expected[theirs].tolist() or ours == "params.x"
    assert df["params.n"].dtype == "int64"
    assert df["params.x"].tolist()[:2] == [0.5, 1.0] and math.isnan(df["params.x"].iloc[2])
    rows = w.load(columns=["params.n", "params.x"], with_pandas=False)
    assert [type(r["params.n"]) for r in rows] == [int, int, int]
    assert "params.x" not in rows[2]
