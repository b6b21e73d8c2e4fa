#!/usr/bin/env bash
# Installs lumo-db's build and test dependencies from Debian packages.
# A no-op when every package is already present (no apt-get call at all).
set -euo pipefail

packages=(
  librocksdb-dev libflatbuffers-dev flatbuffers-compiler libgit2-dev
  libcli11-dev libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  cmake g++ pkg-config
  # JSON parsing and printing for dump_info and the CLI (see README).
  nlohmann-json3-dev
  # The Python package lumodb (see README): bindings, the interpreter's
  # headers, and what its tests and users read runs with.
  pybind11-dev python3-dev python3-pandas python3-numpy python3-pytest
  python3-setuptools python3-wheel
  # lumo-db serve's HTTP server (see README).
  libcpp-httplib-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "setup-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
