#!/usr/bin/env bash
# The project's tests: the Rust crate's, then the Python package's. The package is
# built as a wheel (its crates compile into target/, beside the tests' release
# build) and installed into a fresh virtual environment, with maturin, pytest,
# numpy and safetensors from PyPI; pytest then runs python/tests against it.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install --quiet --upgrade pip
"$py" -m pip install --quiet maturin pytest numpy safetensors
"$work/venv/bin/maturin" build --release --quiet --interpreter "$py" --out "$work/wheels"
"$py" -m pip install --quiet "$work"/wheels/onelayer-*.whl
# The installed `onelayer` command first on PATH; the tests run from outside the
# repository so that `import onelayer` is the installed package.
(cd "$work" && PATH="$work/venv/bin:$PATH" "$py" -m pytest -q -p no:cacheprovider "$OLDPWD/python/tests")
