"""Python values to JSON text for the engine: numpy and torch-like values
become plain numbers and lists; anything else is a TypeError naming the key."""
import json
import math

__all__ = ["to_json", "to_jsonable", "to_float"]


def _convert(value, where, path):
    # The plain types first: most values are these.
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"{where}: {value!r} at {path or 'the value'} is not a JSON number")
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, (str, int, float, bool)) or k is None:
                key = k if isinstance(k, str) else json.dumps(k)
            else:
                raise TypeError(f"{where}: a key of type {type(k).__name__} at {path or 'the value'} "
                                f"cannot be a JSON object key")
            out[key] = _convert(v, where, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, (list, tuple)):
        return [_convert(v, where, f"{path}[{i}]") for i, v in enumerate(value)]
    # numpy scalars and arrays, torch tensors: .tolist() gives plain values
    # (a scalar for 0-d), .item() a scalar.
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, type):
        return _convert(tolist(), where, path)
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, type):
        return _convert(item(), where, path)
    raise TypeError(f"{where}: a value of type {type(value).__module__}.{type(value).__qualname__} "
                    f"at {path or 'the value'} is not JSON-able; pass dicts, lists, str, numbers, "
                    f"bools, None, numpy values or tensors")


def to_jsonable(value, where="value"):
    """value as plain JSON-able Python (dict, list, str, int, float, bool, None)."""
    return _convert(value, where, "")


def to_json(value, where="value"):
    """value as compact JSON text."""
    return json.dumps(_convert(value, where, ""), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)


def to_float(value, where="value"):
    """A metric value as a float: numbers, numpy scalars, one-element tensors."""
    if type(value) is float:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item):
        v = item()
        if isinstance(v, (int, float)):
            return float(v)
    raise TypeError(f"{where}: a metric value must be a number, not "
                    f"{type(value).__module__}.{type(value).__qualname__}")
