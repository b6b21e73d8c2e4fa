"""Shared fixtures of the Python suite: fresh roots in a temporary folder,
Python trainers as real child processes, the shared lumo fixtures."""
import os
import shutil
import subprocess
import sys
import time

import pytest

import lumodb

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.environ.get("LUMODB_FIXTURES",
                          os.path.join(HERE, "..", "..", "..", "shared", "fixtures"))


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """lumo's roots under tmp_path; HOME too, so nothing reaches the real one."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("LUMO_EXP_TEST_NAME", raising=False)
    monkeypatch.delenv("LUMODB_DB", raising=False)
    monkeypatch.setenv("LUMODB_GIT_SNAPSHOT", "0")
    monkeypatch.chdir(tmp_path)
    return {
        "home": str(home / ".lumo"),
        "info_root": str(home / ".lumo" / "experiments"),
        "blob_root": str(home / ".lumo" / "blob"),
        "cache_root": str(home / ".cache" / "lumo"),
    }


@pytest.fixture
def watcher(roots, tmp_path):
    def make():
        return lumodb.Watcher(roots=roots, db=str(tmp_path / "index"), quiet=True)
    return make


def spawn_trainer(tmp_path, *args, stdout=subprocess.PIPE):
    """tests/python/trainer.py as a child: same interpreter, same lumodb."""
    env = dict(os.environ)
    env["HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return subprocess.Popen([sys.executable, os.path.join(HERE, "trainer.py"), *map(str, args)],
                            cwd=str(tmp_path), env=env, stdout=stdout, stderr=subprocess.PIPE,
                            text=True)


def wait_for_line(proc, prefix, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"trainer never printed {prefix!r}; stderr: {proc.stderr.read()}")


@pytest.fixture
def fixture_tree(tmp_path):
    """A copy of the shared lumo tree (home and cache) under tmp_path."""
    src = os.path.abspath(FIXTURES)
    if not os.path.isdir(src):
        pytest.fail(f"the shared fixtures are not at {src} (set LUMODB_FIXTURES)")
    dst = tmp_path / "lumo"
    shutil.copytree(os.path.join(src, "lumo-home"), dst / "lumo-home")
    shutil.copytree(os.path.join(src, "lumo-cache"), dst / "lumo-cache")
    return dst
