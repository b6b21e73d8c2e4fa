"""A Python trainer for the tests: one run of a sweep.

    trainer.py EXP LR N MODE      MODE: ok | raise | hang | sigterm_self | noend

Prints "test_name <name>" once started, "logged <i>" after each value
(for hang: then waits to be killed).
"""
import os
import signal
import sys
import time

import numpy as np

import lumodb

exp_name, lr, n, mode = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
exp = lumodb.Experiment(exp_name)
exp.start()
exp.dump_info("params", {"lr": np.float64(lr), "n": n, "mode": mode})
print("test_name", exp.test_name, flush=True)
for i in range(n):
    exp.dump_metric("loss", 1.0 / (1 + i * lr), cmp="min", step=i)
    exp.dump_metric("acc", np.float32(i / max(1, n)), cmp="max", epoch=i)
    exp.dump_progress((i + 1) / n)
if mode == "raise":
    raise RuntimeError(f"diverged at lr={lr}")
if mode == "hang":
    exp.flush()
    time.sleep(0.3)  # past the flush window: nothing logged may be lost
    print("logged", n, flush=True)
    while True:
        time.sleep(1)
if mode == "sigterm_self":
    exp.flush()
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
exp.dump_string("summary", f"final acc after {n} steps")
exp.end()
