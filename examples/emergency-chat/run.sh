#!/usr/bin/env bash
# examples/emergency-chat/run.sh [nats|mqtt|amqp]: starts a throwaway broker of that kind (default nats: nats-server with
# JetStream; mqtt: Mosquitto; amqp: RabbitMQ) on a free port, Lockstep node A and node B with that broker's pair of
# configs, publishes chat messages to node A while SIGKILLing node B and then node A mid-stream (and restarting them),
# and checks that node B received every message exactly once. NATS_URL, MQTT_URL or AMQP_URL, when set, name a broker
# to use instead of starting one. Needs the broker's Debian package (nats-server, mosquitto, rabbitmq-server) and the
# .NET SDK; LOCKSTEP_DLL names a built lockstep.dll to run instead of building src/Lockstep.Cli.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
BROKER=${1:-nats}
case $BROKER in
  nats) CONFIG=node-%s.yaml ;;
  mqtt) CONFIG=node-%s.mqtt.yaml ;;
  amqp) CONFIG=node-%s.amqp.yaml ;;
  *) echo "usage: $0 [nats|mqtt|amqp]" >&2; exit 2 ;;
esac
N=${MESSAGES:-200}; BATCH=20
# Keys unique to this run, so a broker that outlives it (NATS_URL etc.) or a JetStream duplicate window never mixes runs.
RUN=$RANDOM$RANDOM
if [ -n "${LOCKSTEP_DLL:-}" ]; then DLL=$LOCKSTEP_DLL
else DLL=$ROOT/src/Lockstep.Cli/bin/Release/net10.0/lockstep.dll; dotnet build "$ROOT/src/Lockstep.Cli" -c Release -v q -nologo >/dev/null; fi

# The throwaway brokers are started as the test suite starts them: tests/services.sh (free port, data under a temp
# folder, a control script; svc_cleanup stops them).
. "$ROOT/tests/services.sh"
export CHAT_DATA; CHAT_DATA=$(mktemp -d "${TMPDIR:-/tmp}/emergency-chat.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null; svc_cleanup; rm -rf "$CHAT_DATA"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
wait_until() {  # wait_until SECONDS WHAT COMMAND...: bounded
  local n=$(( $1 * 10 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do n=$((n-1)); [ "$n" -gt 0 ] || { echo "timed out waiting for $what" >&2; exit 1; }; sleep 0.1; done
}

case $BROKER in
  nats) if [ -z "${NATS_URL:-}" ]; then start_nats; NATS_URL=$LOCKSTEP_TEST_NATS; fi; export NATS_URL; SHOWN=$NATS_URL ;;
  mqtt) if [ -z "${MQTT_URL:-}" ]; then start_mqtt; MQTT_URL=$LOCKSTEP_TEST_MQTT; fi; export MQTT_URL; SHOWN=$MQTT_URL ;;
  amqp) if [ -z "${AMQP_URL:-}" ]; then echo "starting RabbitMQ (up to a minute)"; start_rabbit; AMQP_URL=$LOCKSTEP_TEST_AMQP; fi
        export AMQP_URL; SHOWN=$(printf '%s' "$AMQP_URL" | sed -E 's#//[^@/]*@#//***@#') ;;   # the password is a secret
esac

declare -A URL PID
start_node() {  # start_node a|b
  [ -n "${URL[$1]:-}" ] || URL[$1]=http://127.0.0.1:$(free_port)
  # dotnet itself (no wrapper shell), so cleanup's kill stops it.
  # shellcheck disable=SC2059
  dotnet "$DLL" run --config "$HERE/$(printf "$CONFIG" "$1")" --urls "${URL[$1]}" >>"$CHAT_DATA/node-$1.log" 2>&1 & PID[$1]=$!; PIDS+=($!)
  wait_until 60 "node $1" curl -fsS "${URL[$1]}/health/ready"
}
kill_node() { kill -9 "${PID[$1]}"; wait "${PID[$1]}" 2>/dev/null || true; echo "  node $1 killed (SIGKILL)"; }
start_node a; start_node b
echo "$BROKER $SHOWN, node A ${URL[a]}, node B ${URL[b]}; sending $N messages"

for ((first=1; first<=N; first+=BATCH)); do
  body=$(for ((i=first; i<first+BATCH && i<=N; i++)); do
    printf '{"id":"chat-%s-%d","type":"chatMessage","entity":"message","key":"M-%s-%d","version":1,"data":{"id":"M-%s-%d","from":"node-a","text":"message %d"}}\n' \
      "$RUN" "$i" "$RUN" "$i" "$RUN" "$i" "$i"
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
keys() { [ -f "$INBOX" ] && grep -o "\"idempotencyKey\":\"[^\"]*:M-$RUN-[0-9]*:[0-9]*\"" "$INBOX" | sort -u; }
wait_until 120 "node B to hold all $N messages" bash -c "[ \$(grep -o '\"key\":\"M-$RUN-[0-9]*\"' '$INBOX' 2>/dev/null | sort -u | wc -l) -ge $N ]"
distinct=$(keys | wc -l)
# Every message is journaled on node B once: a second journal entry for a key would carry version 2.
twice=$(keys | grep -vc ':1"$' || true)
echo "node B: $distinct distinct messages, $twice journaled twice"
[ "$distinct" -eq "$N" ] && [ "$twice" -eq 0 ] || { echo "FAILED: expected $N messages exactly once" >&2; exit 1; }
echo "OK: all $N messages reached node B exactly once through $BROKER"
