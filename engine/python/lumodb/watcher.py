"""lumo's Watcher, answered from lumo-db's index.

`Watcher().load()` returns the DataFrame lumo's own Watcher returns (one row
per run, lumo's columns, dict cells, sorted by exp_name and test_name). A
Watcher kept alive reloads incrementally: the index's change feed names the
runs written since the last load, only those are read again, and the frame
is updated in place.
"""
import math
import os

from . import _core

__all__ = ["Watcher"]

# A reload re-reads changed runs one by one; past this many it reads all.
_FULL_RELOAD_RUNS = 2000


def _filters(filters):
    if filters is None:
        return []
    if isinstance(filters, str):
        return [filters]
    return [str(f) for f in filters]


class Watcher:
    """Watcher(exp_root=None, hb_root=None, pid_root=None, db_root=None) as
    lumo's; or roots={"info_root": ..., "cache_root": ..., "home": ...} and
    db=<index folder>. Defaults: lumo's configuration, as lumo-db's CLI."""

    def __init__(self, exp_root=None, hb_root=None, pid_root=None, db_root=None, *, roots=None,
                 db=None, read_only=False, quiet=False):
        r = dict(roots or {})
        if exp_root is not None:
            r["info_root"] = os.path.abspath(exp_root)
        for marker_root in (hb_root, pid_root):
            if marker_root is not None and "cache_root" not in r:
                r["cache_root"] = os.path.dirname(os.path.abspath(marker_root))
        if db is None and db_root is not None:
            db = os.path.join(os.path.abspath(db_root), "lumodb")
        self._core = _core.Watcher(r or None, db or "", bool(read_only), bool(quiet))
        self._df = None
        self._latest = 0
        self._pos = {}

    # -- the whole table ----------------------------------------------
    def load(self, with_pandas=True, columns=None):
        """Every run. with_pandas: lumo's DataFrame (or, with columns, the
        named fields, e.g. ["params.lr", "metrics.acc", "status"], one
        column each after exp_name and test_name); else lumo's dict
        {test_name: row}."""
        self._core.load()
        if columns is not None:
            order, data = self._core.table(columns=list(columns),
                                           meanwhile=_import_pandas if with_pandas else None)
            return _frame(order, data) if with_pandas else _records(order, data)
        if not with_pandas:
            order, data = self._core.lumo_frame()
            rows = _records(order, data)
            return _by_test_name(rows)
        if self._df is None:
            return self._full()
        runs, latest = self._core.changed(self._latest)
        if not runs:
            return self._df
        if len(runs) > _FULL_RELOAD_RUNS:
            return self._full()
        self._update(runs)
        self._latest = latest
        return self._df

    def _full(self):
        latest = self._core.changed(-1)[1]
        order, data = self._core.lumo_frame(meanwhile=_import_pandas)
        self._df = _frame(order, data)
        self._latest = latest
        self._pos = None  # made by the first reload that needs it
        return self._df

    def _index(self):
        import gc
        df = self._df
        # 100,000 new tuples would start a collection over every cell.
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._pos = {(e, t): i for i, (e, t) in enumerate(zip(df["exp_name"], df["test_name"]))}
        finally:
            if enabled:
                gc.enable()

    def _update(self, runs):
        import pandas as pd
        order, cells = self._core.lumo_frame_of(list(runs))
        at = {c: k for k, c in enumerate(order)}
        n = cells.shape[1]
        df = self._df
        if self._pos is None:
            self._index()
        new_rows = []
        for j in range(n):
            key = (cells[0, j], cells[1, j])
            i = self._pos.get(key)
            if i is None:
                new_rows.append(j)
                continue
            for k, col in enumerate(order):
                if col not in df.columns:
                    df[col] = [math.nan] * len(df)
                df.iat[i, df.columns.get_loc(col)] = cells[k, j]
            # Columns this run no longer has (rare) become NaN.
            for col in df.columns:
                if col not in at:
                    df.iat[i, df.columns.get_loc(col)] = math.nan
        if list(df.columns) != _column_order(df.columns):
            df = df[_column_order(df.columns)]
            self._df = df
        if new_rows:
            added = _frame(order, cells[:, new_rows])
            df = pd.concat([df, added], ignore_index=True)
            df = df[_column_order(df.columns)]
            df = df.sort_values(["exp_name", "test_name"], kind="stable").reset_index(drop=True)
            self._df = df
            self._index()

    def query(self, filters=None, sort=None, limit=None, exp_name=None, status=None, columns=None):
        """The runs the engine's filters select ("params.lr >= 0.01",
        "status == failed"), sorted ("-metrics.acc") and limited, as lumo's
        frame (or the named columns)."""
        self._core.load()
        args = dict(filters=_filters(filters), exp_name=exp_name or "", status=status or "",
                    sort=sort or "", limit=int(limit or 0))
        if columns is not None:
            order, data = self._core.table(columns=list(columns), meanwhile=_import_pandas, **args)
        else:
            order, data = self._core.lumo_frame(meanwhile=_import_pandas, **args)
        return _frame(order, data)

    def progress(self, with_pandas=True):
        """Runs alive (status running: their process is there)."""
        self._core.load()
        order, data = self._core.lumo_frame(status="running",
                                            meanwhile=_import_pandas if with_pandas else None)
        return _frame(order, data) if with_pandas else _records(order, data)

    def retrieve(self, test_name=None, exp_name=None):
        """The Experiment of a run (read back), or None."""
        from .experiment import Experiment
        self._core.load()
        row = self._row(test_name, exp_name)
        return None if row is None else Experiment.from_cache(row)

    def _row(self, test_name, exp_name=None):
        # The engine finds the exp_name of a test_name alone (or says it is
        # ambiguous); a run it does not have gives no row.
        order, data = self._core.lumo_frame_of([(exp_name or "", test_name)])
        rows = _records(order, data)
        return rows[0] if rows else None

    def metrics(self, test_name, key=None, points=None, exp_name=None):
        """A run's metric history: columns key, step, time (UTC) and value;
        points=N downsamples each key on the engine side (bucket first, min,
        max and last survive)."""
        import pandas as pd
        self._core.load()
        keys = [] if key is None else ([key] if isinstance(key, str) else list(key))
        series = self._core.series([(exp_name or "", test_name)], keys, int(points or 0))
        parts = []
        for s in series:
            parts.append(pd.DataFrame({
                "key": [s["key"]] * len(s["value"]),
                "step": pd.Series(s["step"], dtype="int64"),
                "time": pd.to_datetime(pd.Series(s["time_us"], dtype="int64"), unit="us", utc=True),
                "value": pd.Series(s["value"], dtype="float64"),
            }))
        if not parts:
            return pd.DataFrame({"key": [], "step": [], "time": [], "value": []})
        return pd.concat(parts, ignore_index=True)

    @property
    def db_path(self):
        return self._core.db_path()

    def __repr__(self):
        return f'Watcher(db="{self._core.db_path()}")'


def _import_pandas():
    # Called by _core once the engine reads: a first import of pandas (a few
    # tenths of a second) overlaps the read instead of coming after it.
    import pandas  # noqa: F401


def _column_order(columns):
    """lumo's columns in lumo's order, then the others by name (as _core)."""
    lumo = [c for c in _core.lumo_columns if c in columns]
    return lumo + sorted(c for c in columns if c not in _core.lumo_columns)


def _frame(order, data):
    """A DataFrame of (order, data) as _core gives them: data a dict of
    typed columns (pandas infers their dtypes) or lumo's cells, an object
    array of columns x rows, which becomes the frame's one block as it is."""
    import pandas as pd
    if isinstance(data, dict):
        return pd.DataFrame(data, columns=order)
    return pd.DataFrame(data.T, columns=order, copy=False)


def _records(order, data):
    if isinstance(data, dict):
        n = len(data[order[0]]) if order else 0
        # Numeric columns come as numpy arrays: their cells as Python numbers.
        columns = [data[c].tolist() if hasattr(data[c], "tolist") else data[c] for c in order]
    else:
        n = data.shape[1]
        columns = list(data)
    rows = []
    for j in range(n):
        row = {}
        for c, column in zip(order, columns):
            v = column[j]
            if isinstance(v, float) and math.isnan(v):
                continue
            row[c] = v
        rows.append(row)
    return rows


def _by_test_name(rows):
    out = {}
    seen = {}
    for row in rows:
        t = row.get("test_name")
        seen[t] = seen.get(t, 0) + 1
    for row in rows:
        t = row.get("test_name")
        # lumo keys by test_name alone and loses one of two equal names;
        # lumo-db keeps both as exp_name/test_name.
        out[t if seen[t] == 1 else f"{row.get('exp_name')}/{t}"] = row
    return out
