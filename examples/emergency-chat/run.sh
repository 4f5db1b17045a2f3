#!/usr/bin/env bash
# examples/emergency-chat/run.sh: starts a throwaway nats-server (JetStream) on a free port, Lockstep node A and node B,
# publishes chat messages to node A while SIGKILLing node B and then node A mid-stream (and restarting them), and checks
# that node B received every message exactly once. Needs nats-server (Debian package nats-server) and the .NET SDK.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
N=${MESSAGES:-200}; BATCH=20
DLL=$ROOT/src/Lockstep.Cli/bin/Debug/net10.0/lockstep.dll
[ -f "$DLL" ] || dotnet build "$ROOT/src/Lockstep.Cli" -v q -nologo >/dev/null
NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
export CHAT_DATA; CHAT_DATA=$(mktemp -d "${TMPDIR:-/tmp}/emergency-chat.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$CHAT_DATA"; }
trap cleanup EXIT
free_port() { local p; while :; do p=$((20000 + RANDOM % 30000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
wait_until() {  # wait_until SECONDS WHAT COMMAND...: bounded
  local n=$(( $1 * 10 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do n=$((n-1)); [ "$n" -gt 0 ] || { echo "timed out waiting for $what" >&2; exit 1; }; sleep 0.1; done
}

NATS_PORT=$(free_port); export NATS_URL=nats://127.0.0.1:$NATS_PORT
"$NATS_SERVER" -js -sd "$CHAT_DATA/nats" -a 127.0.0.1 -p "$NATS_PORT" >"$CHAT_DATA/nats.log" 2>&1 & PIDS+=($!)
wait_until 30 "nats-server" bash -c "exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT"

declare -A URL PID
start_node() {  # start_node a|b
  [ -n "${URL[$1]:-}" ] || URL[$1]=http://127.0.0.1:$(free_port)
  dotnet "$DLL" run --config "$HERE/node-$1.yaml" --urls "${URL[$1]}" >>"$CHAT_DATA/node-$1.log" 2>&1 & PID[$1]=$!; PIDS+=($!)
  wait_until 60 "node $1" curl -fsS "${URL[$1]}/health/ready"
}
kill_node() { kill -9 "${PID[$1]}"; wait "${PID[$1]}" 2>/dev/null || true; echo "  node $1 killed (SIGKILL)"; }
start_node a; start_node b
echo "nats $NATS_URL, node A ${URL[a]}, node B ${URL[b]}; sending $N messages"

for ((first=1; first<=N; first+=BATCH)); do
  body=$(for ((i=first; i<first+BATCH && i<=N; i++)); do
    printf '{"id":"chat-%d","type":"chatMessage","entity":"message","key":"M-%d","version":1,"data":{"id":"M-%d","from":"node-a","text":"message %d"}}\n' "$i" "$i" "$i" "$i"
  done | paste -sd, -)
  # 2xx means committed on node A: from here it must reach node B whatever is killed.
  curl -fsS -X POST "${URL[a]}/api/events" -H 'Content-Type: application/json' -d "[$body]" >/dev/null
  case $first in
    41) kill_node b ;;
    81) start_node b; echo "  node b restarted" ;;
    121) kill_node a; start_node a; echo "  node a restarted" ;;
  esac
done

INBOX=$CHAT_DATA/node-b-inbox.jsonl
keys() { [ -f "$INBOX" ] && grep -o '"idempotencyKey":"[^"]*"' "$INBOX" | sort -u; }
wait_until 120 "node B to hold all $N messages" bash -c "[ \$(grep -o '\"key\":\"M-[0-9]*\"' '$INBOX' 2>/dev/null | sort -u | wc -l) -ge $N ]"
distinct=$(keys | wc -l)
# Every message is journaled on node B once: a second journal entry for a key would carry version 2.
twice=$(keys | grep -vc ':1"$' || true)
echo "node B: $distinct distinct messages, $twice journaled twice"
[ "$distinct" -eq "$N" ] && [ "$twice" -eq 0 ] || { echo "FAILED: expected $N messages exactly once" >&2; exit 1; }
echo "OK: all $N messages reached node B exactly once"
