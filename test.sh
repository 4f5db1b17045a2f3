#!/usr/bin/env bash
# The whole test suite, on a fresh machine: checks formatting, builds with warnings as errors, runs every test, and ends
# with one line "N passed, N failed". Tests that need servers get them from tests/services.sh (started here, stopped on exit).
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
RESULTS=$(mktemp -d "${TMPDIR:-/tmp}/lockstep-results.XXXXXX")
. tests/services.sh
trap 'svc_cleanup; rm -rf "$RESULTS"' EXIT
trap 'exit 130' INT TERM

fail() { echo "$1" >&2; echo "0 passed, 1 failed"; exit 1; }

command -v dotnet >/dev/null || fail "dotnet is not installed (needs the .NET 10 SDK)"

echo "== servers (PostgreSQL + PostGIS, RabbitMQ, NATS JetStream, Mosquitto, Radicale, MariaDB, Chromium)"
install_services >"$RESULTS/apt.log" 2>&1 || { tail -30 "$RESULTS/apt.log"; fail "could not install the test servers"; }

echo "== npm tools (oidc-provider, Redocly CLI)"
install_node_tools >"$RESULTS/npm.log" 2>&1 || { tail -30 "$RESULTS/npm.log"; fail "could not install the npm tools in tests/node"; }

echo "== restore"
dotnet restore Lockstep.slnx >"$RESULTS/restore.log" 2>&1 || { cat "$RESULTS/restore.log"; fail "restore failed"; }

echo "== format check"
dotnet format Lockstep.slnx --verify-no-changes --no-restore >"$RESULTS/format.log" 2>&1 || { cat "$RESULTS/format.log"; fail "formatting differs: run 'dotnet format Lockstep.slnx'"; }

echo "== build (Release, warnings as errors)"
dotnet build Lockstep.slnx -c Release --no-restore -warnaserror >"$RESULTS/build.log" 2>&1 || { grep -E "error|warn" "$RESULTS/build.log" | sort -u; fail "build failed"; }

echo "== start servers"
{ start_rabbit && start_pg && start_nats && start_mqtt && start_caldav lockstep "caldav-$RANDOM$RANDOM" && start_mariadb; } || fail "a test server did not start"
start_smalldisk || echo "warning: no small disk for the full-disk test (it will fail saying how to run it)" >&2

echo "== tests"
dotnet test Lockstep.slnx -c Release --no-build --logger "trx;LogFileName=results.trx" --results-directory "$RESULTS" \
  -- RunConfiguration.TestSessionTimeout=1500000 2>&1 | grep -vE '^\s*$' | grep -E 'Failed |Error Message|Passed!|Failed!|error' -A4 | grep -v 'Stack Trace' || true

passed=0; failed=0
for trx in "$RESULTS"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p'); f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
  total=$(echo "$counters" | sed -n 's/.* total="\([0-9]*\)".*/\1/p'); executed=$(echo "$counters" | sed -n 's/.* executed="\([0-9]*\)".*/\1/p')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  # Tests that never ran (a crashed or timed-out host) count as failed.
  failed=$((failed + ${total:-0} - ${executed:-0}))
done
echo "== gauntlet (short profile: 10 seeded schedules of random events and faults, each one test)"
tests/gauntlet.sh --no-build --schedules 10 --time-limit 170 >"$RESULTS/gauntlet.log" 2>&1
summary=$(grep -E '^gauntlet: [0-9]+ schedules' "$RESULTS/gauntlet.log" | tail -1)
if [ -n "$summary" ]; then
  gp=$(echo "$summary" | sed -n 's/.* \([0-9]*\) passed, .*/\1/p'); gf=$(echo "$summary" | sed -n 's/.* passed, \([0-9]*\) failed.*/\1/p')
  [ "${gf:-1}" -eq 0 ] && echo "$summary" || cat "$RESULTS/gauntlet.log"
  passed=$((passed + ${gp:-0})); failed=$((failed + ${gf:-1}))
else
  cat "$RESULTS/gauntlet.log"; failed=$((failed + 10))  # it did not finish: every schedule counts as failed
fi

[ "$passed" -gt 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
