#!/usr/bin/env bash
# Runs the core crate's tests with the same target triple that `napi build --platform` uses, so
# candle is compiled once for both the addon and the tests (`target/<host-triple>/release`).
set -euo pipefail
host=$(rustc -vV | sed -n 's/^host: //p')
exec cargo test --release -p eager-core --target "$host" "$@"
