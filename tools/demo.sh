#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, runs a small
# sweep of the example trainer (20 runs: learning rates x seeds, one that
# throws, one killed with SIGKILL) and prints `lumo-db query` over them.
# Everything lands in build/demo/ (HOME is pointed there, so lumo's default
# roots ~/.lumo and ~/.cache/lumo are the demo's own).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/tools/setup-deps.sh"
"$root/tools/build.sh" >/dev/null
bin="$root/build"
demo="$root/build/demo"
rm -rf "$demo"
mkdir -p "$demo"
cd "$demo"
export HOME="$demo"
# The demo runs inside lumo-db's own work tree: no code snapshots of it.
export LUMODB_GIT_SNAPSHOT=0

echo "== sweep: 18 runs (lr x seed), one that throws, one killed with SIGKILL"
for lr in 0.01 0.03 0.05 0.1 0.3 1.0; do
  for seed in 1 2 3; do
    echo "--exp mnist.mlp --lr $lr --seed $seed --epochs 5 --sleep-ms 10"
  done
done | xargs -P 4 -L 1 "$bin/example_trainer" >/dev/null

( "$bin/example_trainer" --exp mnist.mlp --lr 3.0 --seed 1 --fail-at 3 \
  >/dev/null 2>&1 ) 2>/dev/null || echo "(the lr=3.0 run threw, as planned)"
"$bin/example_trainer" --exp mnist.mlp --lr 0.05 --seed 9 --epochs 50 --hang-at 3 &
pid=$!
sleep 1
kill -9 "$pid"
wait "$pid" 2>/dev/null || echo "(the seed=9 run was killed with SIGKILL, as planned)"

echo
echo "== lumo-db query --sort=-metrics.acc"
"$bin/lumo-db" query --sort=-metrics.acc \
  --columns test_name,status,params.lr,params.seed,metrics.acc,metrics.best_epoch
echo
echo "== lumo-db query 'params.lr == 0.05' --status finished --sort=-metrics.acc --limit 3"
"$bin/lumo-db" query 'params.lr == 0.05' --status finished --sort=-metrics.acc --limit 3
echo
echo "== lumo-db query 'status ~ failed|killed' --columns test_name,status,progress.end_code,exception.exception_content"
"$bin/lumo-db" query 'status ~ failed|killed' \
  --columns test_name,status,progress.end_code,exception.exception_content

echo
echo "== a Python sweep (lumodb.Experiment), then every run as lumo's DataFrame"
export PYTHONPATH="$bin/python"
for lr in 0.1 0.2 0.4; do
  /usr/bin/python3 - "$lr" <<'PY' &
import sys
import lumodb
lr = float(sys.argv[1])
with lumodb.Experiment("cifar.py") as exp:
    exp.dump_info("params", {"lr": lr})
    for step in range(100):
        exp.dump_metric("loss", 1.0 / (1 + step * lr), cmp="min", step=step)
        exp.dump_metric("acc", step * lr / 40, cmp="max", epoch=step)
PY
done
wait
/usr/bin/python3 - <<'PY'
import pandas as pd
import lumodb
pd.set_option("display.width", 120)
w = lumodb.Watcher()
df = w.load()
print(df[["exp_name", "test_name", "params", "progress"]].head(4).to_string())
print()
print(w.load(columns=["status", "params.lr", "metrics.acc"]).sort_values("metrics.acc").tail(5).to_string())
PY
