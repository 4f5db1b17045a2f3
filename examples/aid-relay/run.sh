#!/usr/bin/env bash
# examples/aid-relay/run.sh: use case 4 end to end (needs the .NET SDK and python3). Starts the sample logistics API,
# runs Lockstep with lockstep.yaml, publishes 1,000 supply records, waits until synced, and checks: every record arrived,
# in far fewer requests than records (batches), the phone numbers only as envelopes that `lockstep decrypt` opens with
# FIELD_KEY, and neither the journal nor the log holds a phone number. Ends with "OK" (exit 0) or says what failed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/aid-relay.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
die() { echo "FAILED: $*" >&2; exit 1; }
free_port() { local p; while :; do p=$((20000 + RANDOM % 30000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
wait_until() {  # wait_until SECONDS WHAT COMMAND...: bounded
  local n=$(( $1 * 10 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do n=$((n-1)); [ "$n" -gt 0 ] || die "timed out waiting for $what"; sleep 0.1; done
}
DLL=$ROOT/src/Lockstep.Cli/bin/Release/net10.0/lockstep.dll
echo "building lockstep..."; dotnet build "$ROOT/src/Lockstep.Cli" -c Release -v q -nologo >/dev/null || die "build failed"
lockstep() { dotnet "$DLL" "$@"; }

export FIELD_KEY; FIELD_KEY=$(head -c 32 /dev/urandom | base64)
PORT=$(free_port); python3 "$HERE/logistics.py" "$PORT" & PIDS+=($!)
wait_until 30 "the logistics API" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT"
sed "s#http://127.0.0.1:7003#http://127.0.0.1:$PORT#" "$HERE/lockstep.yaml" > "$WORK/lockstep.yaml"
URL=http://127.0.0.1:$(free_port)
dotnet "$DLL" run --config "$WORK/lockstep.yaml" --urls "$URL" >"$WORK/lockstep.log" 2>&1 & PIDS+=($!)   # dotnet itself, so cleanup stops it
wait_until 60 "lockstep" curl -fsS "$URL/health/ready"

N=1000
for i in $(seq $N); do
  printf '{"id":"sup-%d","type":"supplyMoved","entity":"supply","key":"S-%d","version":1,"data":{"id":"S-%d","item":"water","qty":%d,"camp":"camp-%d","recipient":{"name":"Aid desk %d","phone":"555-01%04d"}}}\n' "$i" "$i" "$i" "$((i % 50 + 1))" "$((i % 7))" "$i" "$i"
done > "$WORK/supplies.ndjson"
lockstep publish "$WORK/supplies.ndjson" --url "$URL" >/dev/null || die "publish failed"
wait_until 120 "synced" bash -c "curl -fsS $URL/api/status | grep -q '^{\"state\":\"synced\"'"

curl -fsS "http://127.0.0.1:$PORT/shipments" > "$WORK/held.json"
read -r COUNT REQUESTS BATCHES PLAIN < <(python3 -c '
import json,sys; h=json.load(open(sys.argv[1])); s=h["shipments"]
print(len(s), h["requests"], h["batches"], sum("555-01" in json.dumps(v) for v in s.values()))' "$WORK/held.json")
echo "logistics holds $COUNT shipments, received in $REQUESTS requests ($BATCHES batches accepted, the rest answered 503 and retried)"
[ "$COUNT" = "$N" ] || die "expected $N shipments"
[ "$REQUESTS" -lt $((N / 10)) ] || die "expected batches, got $REQUESTS requests"
[ "$PLAIN" = 0 ] || die "$PLAIN shipments hold a phone number in plaintext"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["shipments"]["S-7"]))' "$WORK/held.json" > "$WORK/s7.json"
echo "S-7 as logistics holds it:  $(cat "$WORK/s7.json")"
OPENED=$(lockstep decrypt "$WORK/s7.json" --key k1=FIELD_KEY) || die "decrypt failed"
echo "opened with lockstep decrypt: $OPENED"
grep -q '"phone":"555-010007"' <<<"$OPENED" || die "the envelope did not open to the phone number"
if cat "$WORK"/data/lockstep.db* "$WORK/lockstep.log" | grep -aq "555-01"; then die "a phone number is in the journal or the log"; fi
echo "OK: $N shipments delivered in $REQUESTS requests; phones encrypted in transit and at rest"
