#!/usr/bin/env bash
# The project's test command: installs what the tests need on a fresh Debian
# machine, then runs every test with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v unshare >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

go vet ./...
go test -race -count=1 -timeout 8m ./...
