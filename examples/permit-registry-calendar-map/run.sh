#!/usr/bin/env bash
# examples/permit-registry-calendar-map/run.sh: use case 1 end to end, with nothing but Debian packages and the .NET SDK.
# Starts PostgreSQL + PostGIS and Radicale (tests/services.sh; installs them with apt-get when missing and run as root),
# the sample registry (registry.py), creates the permits table and the calendar, runs Lockstep with lockstep.yaml,
# publishes permits (some revised, some revoked), stops PostgreSQL mid-run and starts it again, and checks that all
# three systems converged. Ends with "OK" and exit 0, or says what differs and exits 1.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/tests/services.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/permit-example.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; svc_cleanup; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "FAILED: $*" >&2; exit 1; }
wait_until() {  # wait_until SECONDS WHAT COMMAND...: bounded
  local n=$(( $1 * 10 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do n=$((n-1)); [ "$n" -gt 0 ] || die "timed out waiting for $what"; sleep 0.1; done
}

install_services >/dev/null || die "could not install PostgreSQL/PostGIS and Radicale"
DLL=$ROOT/src/Lockstep.Cli/bin/Release/net10.0/lockstep.dll
echo "building lockstep..."; dotnet build "$ROOT/src/Lockstep.Cli" -c Release -v q -nologo >/dev/null || die "build failed"
lockstep() { dotnet "$DLL" "$@"; }

export CALDAV_PASSWORD="cal-$RANDOM$RANDOM" REGISTRY_KEY="reg-$RANDOM$RANDOM"
start_pg && start_caldav lockstep "$CALDAV_PASSWORD" || die "servers did not start"
export GIS_DB="$LOCKSTEP_TEST_PG;Options=-c synchronous_commit=on"
PSQL=(env PGPASSWORD=lockstep psql -X -q -At -h 127.0.0.1 -p "$(sed 's/.*Port=\([0-9]*\).*/\1/' <<<"$LOCKSTEP_TEST_PG")" -U lockstep -d lockstep)
"${PSQL[@]}" -c "CREATE TABLE permits (permit_id text PRIMARY KEY, status text, geom geometry(Point, 4326), version bigint)"
CAL="${LOCKSTEP_TEST_CALDAV}lockstep/inspections/"
curl -fsS -u "lockstep:$CALDAV_PASSWORD" -X MKCALENDAR "$CAL" -o /dev/null || die "MKCALENDAR failed"
REG_PORT=$(free_port); python3 "$HERE/registry.py" "$REG_PORT" & PIDS+=($!)
wait_until 30 "the registry" bash -c "exec 3<>/dev/tcp/127.0.0.1/$REG_PORT"

mkdir -p "$WORK/data"
sed -e "s#http://127.0.0.1:7001#http://127.0.0.1:$REG_PORT#" -e "s#http://127.0.0.1:5232/lockstep/inspections/#$CAL#" "$HERE/lockstep.yaml" > "$WORK/lockstep.yaml"
lockstep validate "$WORK/lockstep.yaml" || die "config invalid"
URL=http://127.0.0.1:$(free_port)
dotnet "$DLL" run --config "$WORK/lockstep.yaml" --urls "$URL" >"$WORK/lockstep.log" 2>&1 & PIDS+=($!)   # dotnet itself, so cleanup stops it
wait_until 60 "lockstep" curl -fsS "$URL/health/ready"
echo "registry http://127.0.0.1:$REG_PORT, calendar $CAL, PostGIS ${GIS_DB%%;Username*}, lockstep $URL"

N=40
permit() {  # permit I VERSION STATUS
  printf '{"id":"P-%03d:%d","type":"permitApproved","entity":"permit","key":"P-%03d","version":%d,"data":{"id":"P-%03d","status":"%s","owner":{"firstName":"Ada","lastName":"Lovelace"},"inspectionAt":"2026-12-01T%02d:00:00Z","address":"%d Main St","location":{"lat":%s,"lng":%s}}}\n' \
    "$1" "$2" "$1" "$2" "$1" "$3" $((8 + $1 % 9)) "$1" "45.$((1000 + $1))" "-73.$((1000 + $1))"
}
{ for i in $(seq $N); do permit "$i" 1 approved; done; } > "$WORK/approved.ndjson"
lockstep publish "$WORK/approved.ndjson" --url "$URL" >/dev/null || die "publish failed"
wait_until 60 "first rows in PostGIS" bash -c "[ \"\$(${PSQL[*]} -c 'SELECT count(*) FROM permits')\" -gt 0 ]"
echo "stopping PostgreSQL mid-run..."; "$LOCKSTEP_TEST_PG_CTL" stop
{ for i in $(seq 3 3 $N); do permit "$i" 2 revised; done
  for i in $(seq 10 10 $N); do printf '{"id":"P-%03d:3","type":"permitRevoked","entity":"permit","key":"P-%03d","version":3,"op":"delete"}\n' "$i" "$i"; done; } > "$WORK/changes.ndjson"
lockstep publish "$WORK/changes.ndjson" --url "$URL" >/dev/null || die "publish failed"
echo "starting PostgreSQL again..."; "$LOCKSTEP_TEST_PG_CTL" start
wait_until 180 "synced" bash -c "curl -fsS $URL/api/status | grep -q '^{\"state\":\"synced\"'"
curl -fsS "$URL/api/status" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("status:", s["state"], {n: (f["state"], f["delivered"] if "delivered" in f else "") for n, f in s["flows"].items()})' || true

LIVE=$((N - N / 10))
REG=$(curl -fsS -H "X-Api-Key: $REGISTRY_KEY" "http://127.0.0.1:$REG_PORT/api/records" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r), sum(v["status"]=="revised" for v in r.values()))')
EVENTS=$(curl -fsS -u "lockstep:$CALDAV_PASSWORD" -X PROPFIND -H 'Depth: 1' "$CAL" | grep -o '\.ics</' | wc -l)
ROWS=$("${PSQL[@]}" -c "SELECT count(*), count(*) FILTER (WHERE status = 'revised'), count(*) FILTER (WHERE ST_SRID(geom) = 4326 AND abs(ST_Y(geom) - (45 + (1000 + substr(permit_id, 3)::int) / 10000.0)) < 1e-9) FROM permits" | tr '|' ' ')
REVISED=$(( N / 3 - N / 30 ))
echo "registry: $REG (records, revised); calendar: $EVENTS events; PostGIS: $ROWS (rows, revised, right point)"
[ "$REG" = "$LIVE $REVISED" ] || die "registry holds $REG, expected $LIVE $REVISED"
[ "$EVENTS" = "$LIVE" ] || die "calendar holds $EVENTS events, expected $LIVE"
[ "$ROWS" = "$LIVE $REVISED $LIVE" ] || die "PostGIS holds $ROWS, expected $LIVE $REVISED $LIVE"
grep -q "$REGISTRY_KEY\|$CALDAV_PASSWORD" "$WORK/lockstep.log" && die "a secret reached the log"
echo "OK: $LIVE live permits in the registry, the calendar and PostGIS; revoked ones removed from all three"
