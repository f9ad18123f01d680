#!/usr/bin/env bash
# Memory and wake-ups of procmon with N idle tasks (default 100): procmon's RSS,
# split into anonymous memory and pages of its binary, and the context switches
# of all its threads over a quiet period (no monitor configured: expect 0).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
quiet=${2:-10}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/procmon" ./cmd/procmon
{
  printf '[procmon]\nsocket = "%s/procmon.sock"\n' "$work"
  for i in $(seq 1 "$n"); do printf '[tasks.idle%04d]\ncommand = ["sleep", "100000"]\n' "$i"; done
} > "$work/procmon.toml"

"$work/procmon" -c "$work/procmon.toml" > /dev/null 2>&1 &
pid=$!
until "$work/procmon" ready -s "$work/procmon.sock" >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || { echo "procmon exited before its tasks were ready" >&2; exit 1; }
  sleep 0.1
done
sleep 2 # let the start settle

switches() { cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/ { s += $2 } END { print s }'; }
before=$(switches)
sleep "$quiet"
after=$(switches)
rss=$(awk '/^Rss:/ { print $2 }' /proc/"$pid"/smaps_rollup)
anon=$(awk '/^Anonymous:/ { print $2 }' /proc/"$pid"/smaps_rollup)
echo "tasks=$n rss_kib=$rss anonymous_kib=$anon binary_and_libs_kib=$((rss - anon)) context_switches_in_${quiet}s=$((after - before))"
