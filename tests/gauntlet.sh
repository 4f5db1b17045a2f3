#!/usr/bin/env bash
# The convergence gauntlet (README "Gauntlet"): seeded random events and faults against the real lockstep process.
#   tests/gauntlet.sh --schedules 10            the short profile (./test.sh runs it)
#   tests/gauntlet.sh --schedules 100 --from 1000   a longer one
#   tests/gauntlet.sh --seed 7                  replay one schedule
# Builds the gauntlet (Release) first unless the first argument is --no-build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--no-build" ]; then
  shift
else
  log=$(mktemp "${TMPDIR:-/tmp}/gauntlet-build.XXXXXX")
  dotnet build tests/Lockstep.Gauntlet -c Release -warnaserror >"$log" 2>&1 || { grep -E "error|warn" "$log" | sort -u; rm -f "$log"; exit 1; }
  rm -f "$log"
fi
exec dotnet tests/Lockstep.Gauntlet/bin/Release/net10.0/Lockstep.Gauntlet.dll "$@"
