"""lumodb.Experiment: Python trainers recorded through the engine (real
child processes, a real index in a temporary folder)."""
import json
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import lumodb
from conftest import spawn_trainer, wait_for_line


def status_of(w, test_name):
    df = w.load(columns=["status", "progress.end_code", "progress.signal"])
    row = df[df["test_name"] == test_name]
    assert len(row) == 1, df
    return row.iloc[0]


def test_a_sweep_of_python_trainers(tmp_path, watcher):
    procs = [spawn_trainer(tmp_path, "sweep.py", lr, 20, "ok") for lr in (0.1, 0.2, 0.4)]
    names = []
    for p in procs:
        names.append(wait_for_line(p, "test_name").split()[1])
        assert p.wait(60) == 0, p.stderr.read()
    w = watcher()
    df = w.load()
    assert sorted(df["test_name"]) == sorted(names)
    assert list(df["test_name"]) == sorted(names)  # sorted as lumo sorts
    for _, row in df.iterrows():
        assert row["params"]["n"] == 20
        assert row["metrics"]["loss"] == pytest.approx(1.0 / (1 + 19 * row["params"]["lr"]))
        assert row["metrics"]["acc"] == pytest.approx(19 / 20)
        assert row["metrics"]["epoch"] == 19  # extras beside the best, as lumo's metric.pkl
        assert row["progress"]["end_code"] == 0
        assert row["summary"] == "final acc after 20 steps"
    st = w.load(columns=["status"])
    assert set(st["status"]) == {"finished"}


def test_an_uncaught_exception_records_failed_with_the_traceback(tmp_path, watcher):
    p = spawn_trainer(tmp_path, "sweep.py", 0.5, 5, "raise")
    name = wait_for_line(p, "test_name").split()[1]
    assert p.wait(60) == 1
    assert "RuntimeError: diverged at lr=0.5" in p.stderr.read()  # the usual traceback still shows
    w = watcher()
    row = w.load().set_index("test_name").loc[name]
    assert row["exception"]["exception_type"] == "RuntimeError"
    assert "Traceback" in row["exception"]["exception_content"]
    assert "diverged at lr=0.5" in row["exception"]["exception_content"]
    assert status_of(w, name)["status"] == "failed"


def test_sigkill_is_killed_and_nothing_before_the_window_is_lost(tmp_path, watcher):
    p = spawn_trainer(tmp_path, "sweep.py", 0.1, 2000, "hang")
    name = wait_for_line(p, "test_name").split()[1]
    wait_for_line(p, "logged")
    p.send_signal(signal.SIGKILL)
    assert p.wait(30) == -signal.SIGKILL
    w = watcher()
    assert status_of(w, name)["status"] == "killed"
    m = w.metrics(name, "loss")
    assert list(m["step"]) == list(range(2000))
    assert m["value"].iloc[-1] == pytest.approx(1.0 / (1 + 1999 * 0.1))


def test_sigterm_records_failed_with_the_signal(tmp_path, watcher):
    p = spawn_trainer(tmp_path, "sweep.py", 0.1, 3, "sigterm_self")
    name = wait_for_line(p, "test_name").split()[1]
    assert p.wait(30) == -signal.SIGTERM
    row = status_of(watcher(), name)
    assert row["status"] == "failed"
    assert row["progress.signal"] == signal.SIGTERM
    assert row["progress.end_code"] == 128 + signal.SIGTERM


def test_values_numpy_and_tensor_like(roots, watcher):
    class Tensor:  # what torch gives: .tolist() and .item()
        def __init__(self, v):
            self.v = v

        def tolist(self):
            return self.v

        def item(self):
            return self.v

    exp = lumodb.Experiment("py.values", roots=roots)
    exp.start()
    exp.dump_info("params", {"lr": np.float32(0.5), "layers": np.array([1, 2, 3]),
                             "seed": np.int64(7), "t": Tensor([1.5, 2.5]), "ok": np.bool_(True)})
    assert exp.load_info("params") == {"lr": 0.5, "layers": [1, 2, 3], "seed": 7,
                                       "t": [1.5, 2.5], "ok": True}
    with pytest.raises(TypeError, match=r"dump_info\('bad'\).*builtins.object at x"):
        exp.dump_info("bad", {"x": object()})
    with pytest.raises(ValueError, match=r"dump_info\('nan'\)"):
        exp.dump_info("nan", {"loss": float("nan")})
    assert exp.dump_metric("acc", np.float32(0.25), cmp="max") == 0.25
    assert exp.dump_metric("acc", Tensor(0.5), cmp="max") == 0.5
    assert exp.dump_metric("acc", 0.1, cmp="max") == 0.5  # the best is kept
    assert exp.dump_metric("loss", 0.3, cmp="min", step=10) == 0.3
    assert exp.dump_metric("loss", 0.4, cmp="min", step=11) == 0.3
    assert exp.dump_metrics({"a": 1, "b": np.float64(2)}, cmp="max") == {"a": 1.0, "b": 2.0}
    with pytest.raises(ValueError, match="cmp must be 'max', 'min' or None"):
        exp.dump_metric("acc", 1.0, cmp="maximum")
    with pytest.raises(TypeError, match="metric value must be a number"):
        exp.dump_metric("acc", "high")
    exp.end()
    assert "bad" not in exp.properties and "nan" not in exp.properties  # nothing recorded
    row = watcher().load().iloc[0]
    assert row["params"]["layers"] == [1, 2, 3]
    assert row["metrics"]["acc"] == 0.5 and row["metrics"]["loss"] == 0.3


def test_a_with_block_that_raises_ends_the_run_failed(roots, watcher):
    with pytest.raises(ValueError):
        with lumodb.Experiment("py.with", roots=roots) as exp:
            exp.dump_metric("acc", 0.5)
            raise ValueError("bad batch")
    w = watcher()
    row = w.load().iloc[0]
    assert row["exception"]["exception_type"] == "ValueError"
    assert "bad batch" in row["exception"]["exception_content"]
    assert row["progress"]["end_code"] == 1


def test_python_hooks_and_a_hook_that_raises(roots, watcher):
    seen = []

    class Recorder(lumodb.ExpHook):
        def on_start(self, exp, *args, **kwargs):
            seen.append(("start", exp.test_name))

        def on_progress(self, exp, ratio, *args, **kwargs):
            seen.append(("progress", ratio))

        def on_end(self, exp, end_code=0, *args, **kwargs):
            seen.append(("end", end_code))

    class Broken(lumodb.ExpHook):
        def on_end(self, exp, end_code=0, *args, **kwargs):
            raise KeyError("no such thing")

    exp = lumodb.Experiment("py.hooks", roots=roots)
    exp.set_hook(Recorder())
    exp.set_hook(Broken())
    exp.start()
    exp.dump_progress(0.5)
    exp.end(0)
    assert seen == [("start", exp.test_name), ("progress", 0.5), ("end", 0)]
    w = watcher()
    w.load()
    run = w._core.retrieve(exp.test_name, "py.hooks")
    assert run["status"] == "finished"  # the broken hook did not stop the end
    assert any(e["hook"] == "Broken" and e["stage"] == "on_end" and "no such thing" in e["message"]
               for e in run["hook_errors"])


def test_lumos_api_surface(roots, watcher):
    exp = lumodb.Experiment("py.api", roots=roots)
    assert repr(exp) == 'Experiment(info_dir="None")'
    exp.start()
    assert repr(exp) == f'Experiment(info_dir="{exp.info_dir}")'
    assert exp.info_dir == os.path.join(roots["info_root"], "py.api", exp.test_name)
    assert exp.blob_dir == os.path.join(roots["blob_root"], "py.api", exp.test_name)
    assert exp.cache_dir == os.path.join(roots["cache_root"], "py.api", exp.test_name)
    p = exp.mk_bpath("ckpt", "model.pt")
    assert p == os.path.join(exp.blob_dir, "ckpt", "model.pt") and os.path.isdir(os.path.dirname(p))
    assert os.path.isdir(exp.mk_cpath("tmp", is_dir=True))
    exp.dump_string("summary", "hello")
    assert exp.load_string("summary") == "hello" and exp.load_string("nothing") == ""
    exp.dump_note("first try")
    assert exp.load_note() == "first try"
    exp.dump_tags("a", "b")
    assert exp.get_prop("tags") == ["a", "b"] and exp.has_prop("tags") and exp["exp_name"] == "py.api"
    assert exp.exec_argv[0] == os.path.basename(sys.executable) or exp.exec_argv[0] == "python3"
    assert exp.is_alive
    exp.trigger()
    exp.end()
    assert not exp.is_alive
    w = watcher()
    df = w.load()
    back = lumodb.Experiment.from_cache(df.iloc[0].to_dict())
    assert back.test_name == exp.test_name and back.load_note() == "first try"
    assert repr(back) == f'Experiment(info_dir="{exp.info_dir}")'
    with pytest.raises(RuntimeError, match="recorded only by the Experiment that runs it"):
        back.dump_note("again")
    disk = lumodb.Experiment.from_disk(exp.info_dir)
    assert disk.properties["tags"] == ["a", "b"]
    got = w.retrieve(exp.test_name)
    assert got.exp_name == "py.api" and got.load_string("summary") == "hello"
    assert w.retrieve("261202.999.zzt") is None
    with pytest.raises(ValueError, match="exp_name"):
        lumodb.Experiment("bad/name", roots=roots)


def test_given_test_name_and_a_taken_one(roots):
    exp = lumodb.Experiment("py.named", test_name="261202.500.aat", roots=roots)
    exp.start()
    assert exp.test_name == "261202.500.aat"
    exp.end()
    again = lumodb.Experiment("py.named", test_name="261202.500.aat", roots=roots)
    with pytest.raises(Exception, match="261202.500.aat"):
        again.start()


def test_cpp_and_python_trainers_write_one_experiment_at_once(tmp_path, watcher):
    bin_dir = os.environ.get("LUMODB_BIN_DIR")
    assert bin_dir, "LUMODB_BIN_DIR (the build folder) is set by CTest"
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    cpp = [subprocess.Popen([os.path.join(bin_dir, "example_trainer"), "--exp", "mixed",
                             "--lr", "0.1", "--seed", str(i), "--epochs", "3"],
                            cwd=str(tmp_path), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
           for i in range(3)]
    py = [spawn_trainer(tmp_path, "mixed", 0.1 * (i + 1), 50, "ok") for i in range(3)]
    for p in cpp + py:
        assert p.wait(120) == 0, p.stderr.read()
    df = watcher().load(columns=["status", "params.lr"])
    df = df[df["exp_name"] == "mixed"]
    assert len(df) == 6 and df["test_name"].is_unique
    assert set(df["status"]) == {"finished"}


def test_a_trainer_thread_logs_while_another_reads(roots, watcher):
    exp = lumodb.Experiment("py.threads", roots=roots)
    exp.start()
    w = watcher()
    stop = threading.Event()
    count = [0]

    def log():
        i = 0
        while not stop.is_set():
            exp.dump_metric("loss", 1.0 / (i + 1), cmp="min")
            i += 1
        count[0] = i

    t = threading.Thread(target=log)
    t.start()
    for _ in range(20):
        w.load()
    stop.set()
    t.join()
    exp.end()
    assert count[0] > 0
    m = w.metrics(exp.test_name, "loss")
    assert len(m) == count[0]
