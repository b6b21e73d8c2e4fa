"""lumodb: lumo's Experiment and Watcher, recorded and read through lumo-db.

    from lumodb import Experiment, Watcher
    with Experiment("mnist.mlp") as exp:
        exp.dump_info("params", {"lr": 0.1})
        exp.dump_metric("acc", 0.91, cmp="max", step=100)
    df = Watcher().load()          # every run, as lumo's DataFrame
"""
from . import _core
from .experiment import ExpHook, Experiment, SimpleExperiment
from .watcher import Watcher

__version__ = _core.version
__all__ = ["Experiment", "SimpleExperiment", "ExpHook", "Watcher", "__version__"]
