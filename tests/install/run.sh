#!/usr/bin/env bash
# Installs the built tree into a temporary prefix, builds a consumer project
# with find_package(lumodb) and another with pkg-config, and runs them.
set -euo pipefail
build_dir="$1"; src_dir="$2"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$src_dir" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
export HOME="$work/home"; mkdir -p "$HOME"
# Consumers run in the temporary folder: LastCmd writes run_<program>.sh there.
cd "$work"
name="$("$work/consumer/consumer")"
[ -f "$HOME/.lumo/experiments/install.check/$name/journal" ]
# pkg-config: compile the same program against the installed .pc file.
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig"
g++ -std=c++17 "$src_dir/consumer.cc" -o "$work/consumer_pc" \
  $(pkg-config --cflags --libs lumodb)
"$work/consumer_pc" >/dev/null
echo "install consumer ok: $name"
