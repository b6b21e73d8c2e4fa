"""lumo's Experiment, recorded through lumo-db's engine.

Names and signatures are lumo 1.1.0's, so lumo code runs unchanged; what
differs is where the records go (the run's journal, then the index) and
that outcomes are honest: an uncaught exception, SIGTERM, SIGINT and SIGHUP
record the run failed, and a run killed with SIGKILL is found killed.
"""
import atexit
import json
import os
import sys
import threading
import traceback
import weakref

from . import _core
from ._values import to_float, to_json, to_jsonable

__all__ = ["Experiment", "SimpleExperiment", "ExpHook"]

_CMP = {None: 0, "max": 1, "min": 2}


class ExpHook:
    """A hook: subclass and override what you need. A hook that raises is
    recorded in the run (its hook_errors) and the run goes on."""

    def __init__(self, *args, **kwargs):
        pass

    @property
    def name(self):
        return type(self).__name__

    def on_start(self, exp, *args, **kwargs):
        pass

    def on_progress(self, exp, ratio, *args, **kwargs):
        pass

    def on_end(self, exp, end_code=0, *args, **kwargs):
        pass

    def on_exception(self, exp, exc_type, exc_content, *args, **kwargs):
        pass

    def __repr__(self):
        return f"{self.name}()"


# Runs this process records and has not ended: the excepthook ends them failed.
_live = weakref.WeakSet()
_lock = threading.Lock()
_previous_excepthook = None


def _excepthook(exc_type, exc, tb):
    content = "".join(traceback.format_exception(exc_type, exc, tb))
    for exp in list(_live):
        try:
            exp._fail(exc_type.__name__, content)
        except Exception:  # noqa: BLE001 - the original error matters more
            pass
    hook = _previous_excepthook or sys.__excepthook__
    hook(exc_type, exc, tb)


def _install_excepthook():
    global _previous_excepthook
    with _lock:
        if sys.excepthook is not _excepthook:
            _previous_excepthook = sys.excepthook
            sys.excepthook = _excepthook


def _end_at_exit(ref):
    exp = ref()
    if exp is not None and exp._core is not None and exp._core.started() and not exp._core.ended():
        try:
            exp.end(0)
        except Exception:  # noqa: BLE001
            pass


class Experiment:
    """One run: `Experiment("mnist.mlp")`, then `start()`, dump calls and
    `end()`, or `with Experiment("mnist.mlp") as exp: ...`."""

    _default_hooks = False

    def __init__(self, exp_name, test_name=None, roots=None, *, git_snapshot=True):
        self._prop = None  # a run read back (from_disk, from_cache): its properties
        self._hooks = []
        self._core = _core.Experiment(exp_name, roots, test_name, type(self)._default_hooks,
                                      git_snapshot)
        if not type(self)._default_hooks:
            # The outcome (failed on a signal or an exception) is what
            # lumo-db promises every run.
            self._core.add_builtin_hook("RecordAbort")
        self._props_cache = None
        self._dump_metric_fast = self._core.dump_metric_fast
        self._dump_metric_step = self._core.dump_metric
        atexit.register(_end_at_exit, weakref.ref(self))

    # -- lifecycle ------------------------------------------------------
    def start(self):
        self._writable()
        if self._core.started():
            return self
        _install_excepthook()
        self._core.start()
        _live.add(self)
        self._props_cache = None
        return self

    def end(self, end_code=0, *args, **extra):
        self._writable()
        if not self._core.started() or self._core.ended():
            return self
        self._core.end(int(end_code))
        _live.discard(self)
        self._props_cache = None
        return self

    def _fail(self, exc_type, content):
        if self._core.started() and not self._core.ended():
            self._core.dump_exception(exc_type, content)
            self._core.end(1)
        _live.discard(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc_val, exc_tb):
        if exc_type is not None:
            self._fail(exc_type.__name__,
                       "".join(traceback.format_exception(exc_type, exc_val, exc_tb)))
        else:
            self.end(0)
        return False

    # -- records --------------------------------------------------------
    def dump_info(self, key, info, append=False):
        self._writable()
        where = f"dump_info({key!r})"
        value = to_jsonable(info, where)
        if append:
            old = self.load_info(key)
            if isinstance(old, dict) and isinstance(value, dict):
                old = dict(old)
                old.update(value)
                value = old
        self._core.dump_info(key, to_json(value, where))
        self._props_cache = None

    def load_info(self, key):
        value = self.properties.get(key)
        return {} if value is None else value

    def dump_string(self, key, info):
        self._writable()
        if not isinstance(info, str):
            raise TypeError(f"dump_string({key!r}): a str, not {type(info).__name__}")
        self._core.dump_string(key, info)
        self._props_cache = None

    def load_string(self, key):
        props = self.properties
        text = props.get("text")
        if isinstance(text, dict) and key in text:
            return text[key]
        value = props.get(key)
        return value if isinstance(value, str) else ""

    def dump_note(self, note):
        self._writable()
        self._core.dump_note(str(note))
        self._props_cache = None

    def load_note(self):
        return self.properties.get("note") or ""

    def dump_tags(self, *tags):
        self._writable()
        self._core.dump_tags([str(t) for t in tags])
        self._props_cache = None

    def dump_metric(self, key, value, cmp=None, flush=True, step=None, **extras):
        """Keeps the best value (cmp 'max' or 'min') or the latest (None),
        and every value with its step; returns the best. The values reach
        the journal within 100 ms whatever flush says."""
        # The per-step call, kept short: anything unusual takes the checked path.
        if not extras:
            try:
                c = _CMP[cmp]
                if step is None:
                    return self._dump_metric_fast(key, value, c)
                return self._dump_metric_step(key, value, c, None, step)
            except (KeyError, TypeError, AttributeError):
                pass
        return self._dump_metric_checked(key, value, cmp, step, extras)

    def _dump_metric_checked(self, key, value, cmp, step, extras):
        self._writable()
        try:
            c = _CMP[cmp]
        except (KeyError, TypeError):
            raise ValueError(f"dump_metric({key!r}): cmp must be 'max', 'min' or None, "
                             f"not {cmp!r}") from None
        if not isinstance(key, str):
            raise TypeError(f"dump_metric: the key must be a str, not {type(key).__name__}")
        if type(value) is not float:
            value = to_float(value, f"dump_metric({key!r})")
        if step is not None:
            step = int(step)
        extras_json = to_json(extras, f"dump_metric({key!r})") if extras else None
        return self._core.dump_metric(key, value, c, extras_json, step)

    def dump_metrics(self, dic, cmp=None):
        try:
            c = _CMP[cmp]
        except (KeyError, TypeError):
            raise ValueError(f"dump_metrics: cmp must be 'max', 'min' or None, not {cmp!r}") from None
        values = {str(k): to_float(v, f"dump_metrics({k!r})") for k, v in dic.items()}
        return self._core.dump_metrics(values, c)

    def dump_progress(self, ratio, update_from=None):
        self._writable()
        ratio = to_float(ratio, "dump_progress")
        self._core.dump_progress(min(1.0, max(0.0, ratio)))
        self._props_cache = None

    def trigger(self):
        """lumo's heartbeat: here, writes what is pending now."""
        self._writable()
        if self._core.started() and not self._core.ended():
            self._core.flush(False)

    def flush(self, durable=False):
        self._writable()
        self._core.flush(bool(durable))

    # -- hooks ----------------------------------------------------------
    def set_hook(self, hook):
        """Registers a hook (an ExpHook); before start()."""
        self._writable()
        if not isinstance(hook, ExpHook):
            raise TypeError(f"set_hook: an ExpHook, not {type(hook).__name__}")
        self._hooks.append(hook)
        ref = weakref.ref(self)

        def dispatch(stage, arg):
            exp = ref()
            if exp is None:
                return
            if stage == "on_start":
                hook.on_start(exp)
            elif stage == "on_progress":
                hook.on_progress(exp, arg)
            elif stage == "on_end":
                hook.on_end(exp, end_code=arg)
            elif stage == "on_exception":
                hook.on_exception(exp, arg[0], arg[1])

        self._core.add_hook(hook.name, dispatch)
        return self

    add_hook = set_hook

    def add_exit_hook(self, func):
        """func(exp) runs when the interpreter exits."""
        ref = weakref.ref(self)

        def run():
            exp = ref()
            if exp is not None:
                func(exp)

        atexit.register(run)

    # -- what the run is ----------------------------------------------
    @property
    def properties(self):
        if self._prop is not None:
            return self._prop
        if self._props_cache is None:
            text = self._core.properties()
            self._props_cache = _core.parse_json(text) if text else {}
        return self._props_cache

    def get_prop(self, key, default=None):
        return self.properties.get(key, default)

    def has_prop(self, key):
        return key in self.properties

    def __getitem__(self, item):
        return self.properties[item]

    @property
    def exp_name(self):
        if self._prop is not None:
            return self._prop.get("exp_name")
        return self._core.exp_name()

    @property
    def test_name(self):
        if self._prop is not None:
            return self._prop.get("test_name")
        return self._core.test_name() or None

    @property
    def info_dir(self):
        if self._prop is not None:
            return self._prop.get("info_dir")
        return self._core.info_dir()

    @property
    def blob_dir(self):
        if self._prop is not None:
            return self._prop.get("blob_dir") or _join_root(self._prop, "blob_root")
        return self._core.blob_dir()

    @property
    def cache_dir(self):
        if self._prop is not None:
            return self._prop.get("cache_dir") or _join_root(self._prop, "cache_root")
        return self._core.cache_dir()

    @property
    def roots(self):
        if self._prop is not None:
            return self._prop.get("roots", {})
        return self._core.roots()

    def _mk(self, base, path, is_dir):
        full = os.path.join(base, *path)
        os.makedirs(full if is_dir else os.path.dirname(full), exist_ok=True)
        return full

    def mk_ipath(self, *path, is_dir=False):
        return self._mk(self.info_dir, path, is_dir)

    def mk_bpath(self, *path, is_dir=False):
        return self._mk(self.blob_dir, path, is_dir)

    def mk_cpath(self, *path, is_dir=False):
        return self._mk(self.cache_dir, path, is_dir)

    @property
    def exec_argv(self):
        execute = self.properties.get("execute") or {}
        try:
            exec_bin, argv = execute["exec_bin"], list(execute["exec_argv"])
        except (KeyError, TypeError):
            return []
        # lumo records sys.argv (the script first); lumo-db the process's
        # whole argv (the interpreter first). Both give lumo's
        # [interpreter, script, args...].
        if argv and (os.path.realpath(argv[0]) == os.path.realpath(exec_bin) or
                     os.path.basename(argv[0]) == os.path.basename(exec_bin)):
            return [os.path.basename(argv[0]), *argv[1:]]
        return [os.path.basename(exec_bin), *argv]

    @property
    def is_alive(self):
        if self._prop is None:
            return self._core.started() and not self._core.ended()
        progress = self._prop.get("progress") or {}
        if isinstance(progress, dict) and progress.get("end_code") is not None:
            return False
        pinfo = self._prop.get("pinfo") or {}
        pid = pinfo.get("pid") if isinstance(pinfo, dict) else None
        if not isinstance(pid, int):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    # -- runs read back -------------------------------------------------
    @classmethod
    def from_cache(cls, dic):
        """A run read back from a row of Watcher().load() (read-only)."""
        self = cls.__new__(cls)
        self._prop = dict(dic)
        self._hooks = []
        self._core = None
        self._props_cache = None
        self._dump_metric_fast = None  # read back: dump_metric says it is read-only
        self._dump_metric_step = None
        return self

    @classmethod
    def from_disk(cls, path):
        """A run read back from its folder (<info_root>/<exp_name>/<test_name>),
        recorded by lumo-db or by lumo (read-only)."""
        path = os.path.abspath(path)
        if not os.path.isdir(path):
            raise ValueError(f"{path} is not a run folder")
        from .watcher import Watcher
        test_name = os.path.basename(path)
        exp_name = os.path.basename(os.path.dirname(path))
        info_root = os.path.dirname(os.path.dirname(path))
        if os.path.isfile(os.path.join(path, "info", "test_name.json")):
            return cls.from_cache(_read_lumo_folder(path))
        w = Watcher(roots={"info_root": info_root}, quiet=True)
        w._core.load()
        row = w._row(test_name, exp_name)
        if row is None:
            raise ValueError(f"{path} is not a run folder (no run {exp_name}/{test_name} in the index)")
        return cls.from_cache(row)

    def _writable(self):
        if self._core is None:
            raise RuntimeError(f"{self!r} was read back (from_disk or from_cache): a run is "
                               f"recorded only by the Experiment that runs it")

    def __repr__(self):
        try:
            info_dir = self.info_dir if (self._prop is not None or self._core.test_name()) else None
        except Exception:  # noqa: BLE001
            info_dir = None
        return f'{type(self).__name__}(info_dir="{info_dir}")'


class SimpleExperiment(Experiment):
    """An Experiment with lumo-db's built-in hooks: GitCommit (a snapshot of
    the code), LastCmd, RecordAbort and LockFile."""

    _default_hooks = True


def _join_root(prop, root_key):
    roots = prop.get("roots") or {}
    root = roots.get(root_key) if isinstance(roots, dict) else None
    if not root:
        return None
    return os.path.join(root, prop.get("exp_name", ""), prop.get("test_name", ""))


def _read_lumo_folder(path):
    """A run lumo wrote, read as lumo's from_disk does (JSON files as data)."""
    prop = {}
    info = os.path.join(path, "info")
    for name in sorted(os.listdir(info)):
        if name.endswith(".json"):
            with open(os.path.join(info, name), encoding="utf-8") as f:
                try:
                    prop[name[:-5]] = json.load(f)
                except ValueError:
                    continue
    text = os.path.join(path, "text")
    if os.path.isdir(text):
        for name in sorted(os.listdir(text)):
            if name.endswith(".str"):
                with open(os.path.join(text, name), encoding="utf-8") as f:
                    prop[name[:-4]] = f.read()
    note = os.path.join(path, "note.md")
    prop["note"] = open(note, encoding="utf-8").read() if os.path.isfile(note) else ""
    prop["info_dir"] = path
    return prop
