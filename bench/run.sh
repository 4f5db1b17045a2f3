#!/usr/bin/env bash
# Lockstep benchmark: builds in Release and runs the scenarios of issues 6 and 5, printing a markdown table.
#
#   bench/run.sh                                   # everything: intake, delivery (+ Hangfire peer), latency, 1 M backlog,
#                                                  # 100 k reconciliation, 100 k poll intake
#   bench/run.sh --scenarios reconcile,poll        # the pull side only (--reconcile-records, --poll-items for sizes)
#   bench/run.sh --scenarios intake,delivery       # pick scenarios
#   bench/run.sh --no-hangfire --scenarios brokers --nats URL --amqp URL --mqtt URL   # broker connectors (8)
#   bench/run.sh --no-hangfire --scenarios connectors [--caldav URL]               # http batched, file, webhook, caldav (9)
#   bench/run.sh --backlog 100000 --records 5000   # smaller sizes (see --help for all options)
#   bench/run.sh --no-hangfire                     # skip building and running the Hangfire peer
#   bench/run.sh --quick                           # the regression guard (< 2 min): intake, delivery (+ peer), latency at
#                                                  # smaller sizes; compare its ratio column before and after a change
#
# Builds hold /tmp/lockstep-build.lock (flock) so they never overlap another build on this machine; the runs do not.
# Progress and per-scenario detail go to the log ($BENCH_LOG, default /tmp/lockstep-bench.log); the table to stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
lock="${LOCKSTEP_BUILD_LOCK:-/tmp/lockstep-build.lock}"
log="${BENCH_LOG:-/tmp/lockstep-bench.log}"
peer_src="${HANGFIRE_PEER:-$repo/../shared/peers/hangfire}"
run_timeout="${BENCH_TIMEOUT:-5400}"

hangfire=1
args=()
for a in "$@"; do
  case "$a" in
    --no-hangfire) hangfire=0 ;;
    --quick) args+=(--scenarios intake,delivery,latency --intake-events 50000 --records 10000 --warmup 2000 --seconds 5) ;;
    -h|--help)
      echo "usage: bench/run.sh [--no-hangfire] [--quick] [bench options]"
      echo "environment: BENCH_LOG (log file), BENCH_TIMEOUT (seconds, default 5400), HANGFIRE_PEER (peer source folder)"
      args+=("--help") ;;
    *) args+=("$a") ;;
  esac
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

echo "building bench/Lockstep.Bench (Release)..." >&2
timeout 900 flock "$lock" dotnet build "$here/Lockstep.Bench/Lockstep.Bench.csproj" -c Release -nologo -v q >&2
bench="$here/Lockstep.Bench/bin/Release/net10.0/Lockstep.Bench"

peer_args=()
if [[ $hangfire == 1 && " ${args[*]-} " != *" --help "* ]]; then
  if [[ -f "$peer_src/HangfirePeer.csproj" ]]; then
    # The peer is built outside the repository (its restore writes bin/ and obj/ next to it); never committed.
    peer_dir="${TMPDIR:-/tmp}/lockstep-bench-hangfire"
    mkdir -p "$peer_dir"
    cp "$peer_src"/*.csproj "$peer_src"/*.cs "$peer_dir"/
    echo "building the Hangfire peer in $peer_dir (Release)..." >&2
    if timeout 900 flock "$lock" dotnet build "$peer_dir/HangfirePeer.csproj" -c Release -nologo -v q >"$peer_dir/build.log" 2>&1; then
      peer_args=(--hangfire "$peer_dir")
    else
      echo "the Hangfire peer did not build; see $peer_dir/build.log:" >&2
      tail -5 "$peer_dir/build.log" >&2
    fi
  else
    echo "no Hangfire peer at $peer_src; running without it" >&2
  fi
fi

commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
{
  echo "# Lockstep bench $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $commit, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
} >"$log"
echo "running (log: $log)..." >&2
set +e
timeout "$run_timeout" "$bench" "${peer_args[@]}" "${args[@]}" 2> >(tee -a "$log" >&2) | tee -a "$log"
status=${PIPESTATUS[0]}
set -e
echo "" >&2
echo "commit $commit; machine: $(nproc) cores; log: $log" >&2
exit "$status"
