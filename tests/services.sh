#!/usr/bin/env bash
# tests/services.sh: sourced by ./test.sh (and usable by hand: `. tests/services.sh; start_pg; ...`).
# Each start_NAME launches a real server on 127.0.0.1 with a free port and throwaway data under $SVC, waits until it
# answers, exports LOCKSTEP_TEST_NAME (its connection setting) and LOCKSTEP_TEST_NAME_CTL: a script that tests call with
# `stop`, `start` or `kill` to take the server down and bring it back (broker restarts, PostgreSQL crashes). The EXIT
# trap stops everything. Works as root (CI, dev boxes here) and as a normal user. Recipes: ../shared/services.md.
SVC=$(mktemp -d "${TMPDIR:-/tmp}/lockstep-svc.XXXXXX"); chmod 755 "$SVC"   # service users must traverse it
SVC_STOPS=()
svc_cleanup() {
  local i
  for ((i=${#SVC_STOPS[@]}-1; i>=0; i--)); do eval "${SVC_STOPS[i]}" >/dev/null 2>&1 || true; done
  SVC_STOPS=(); rm -rf "$SVC"
}

is_root() { [ "$(id -u)" = 0 ]; }
free_port() {                                  # a loopback TCP port nobody listens on now
  local p; while :; do p=$((20000 + RANDOM % 30000)); ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }; done
}

# The helpers every control script starts with (written into each one, so tests can run it on its own).
svc_prelude() {
  cat <<'PRE'
#!/usr/bin/env bash
set -uo pipefail
is_root() { [ "$(id -u)" = 0 ]; }
as_user() { local u=$1; shift; if is_root; then runuser -u "$u" -- "$@"; else "$@"; fi; }
wait_tcp() {   # wait_tcp PORT PIDFILE SECONDS: until the port accepts; fail fast if the process died
  local n=$(( $3 * 10 ))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    kill -0 "$(cat "$2" 2>/dev/null)" 2>/dev/null || { echo "service died before port $1 opened" >&2; return 1; }
    n=$((n-1)); [ "$n" -gt 0 ] || { echo "port $1 not ready in time" >&2; return 1; }
    sleep 0.1
  done
}
wait_closed() {   # wait_closed PORT: until nothing listens (up to 30 s)
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null || return 0; sleep 0.1; done; return 1
}
stop_pidfile() {  # stop_pidfile FILE SIGNAL: signal the process, wait up to 10 s, then KILL
  local pid; pid=$(cat "$1" 2>/dev/null) || return 0
  kill "-$2" "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
PRE
}

# svc_ctl NAME BODY: writes $SVC/NAME.ctl (the prelude, then BODY handling "$1"), runs its start, registers its stop,
# and leaves its path in SVC_CTL.
svc_ctl() {
  SVC_CTL=$SVC/$1.ctl
  { svc_prelude; printf '%s\n' "$2"; } > "$SVC_CTL"; chmod 755 "$SVC_CTL"
  SVC_STOPS+=("'$SVC_CTL' stop")
  "$SVC_CTL" start >/dev/null 2>"$SVC/$1.start.err" </dev/null || {
    echo "could not start $1" >&2; cat "$SVC/$1.start.err" >&2; tail -20 "$SVC/$1"/*.log 2>/dev/null >&2; return 1; }
}

start_pg() {          # -> LOCKSTEP_TEST_PG (db+role "lockstep", PostGIS on), LOCKSTEP_TEST_PG_CTL (stop|start|kill)
  local bin=/usr/lib/postgresql/15/bin d=$SVC/pg port; port=$(free_port)
  mkdir -m 700 "$d"; echo pgsuper > "$d/.pw"; is_root && chown -R postgres: "$d"
  (is_root && runuser -u postgres -- "$bin/initdb" -D "$d/data" -U postgres --pwfile="$d/.pw" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null) || \
  (! is_root && "$bin/initdb" -D "$d/data" -U postgres --pwfile="$d/.pw" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null) || return 1
  svc_ctl pg "
case \"\$1\" in
  start) as_user postgres $bin/pg_ctl -D '$d/data' -l '$d/log' -w -t 60 start -o '-p $port -k $d -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off' >/dev/null ;;
  stop) as_user postgres $bin/pg_ctl -D '$d/data' -m fast -w stop >/dev/null ;;
  kill) as_user postgres $bin/pg_ctl -D '$d/data' -m immediate -w stop >/dev/null ;;
esac" || return 1
  LOCKSTEP_TEST_PG_CTL=$SVC_CTL
  local psql="psql -X -q -v ON_ERROR_STOP=1 -h $d -p $port -U postgres"
  if is_root; then psql="runuser -u postgres -- $psql"; fi
  $psql -c "CREATE ROLE lockstep LOGIN PASSWORD 'lockstep'" -c "CREATE DATABASE lockstep OWNER lockstep" >/dev/null
  $psql -d lockstep -c "CREATE EXTENSION postgis" >/dev/null
  export LOCKSTEP_TEST_PG="Host=127.0.0.1;Port=$port;Username=lockstep;Password=lockstep;Database=lockstep" LOCKSTEP_TEST_PG_CTL
}

start_rabbit() {      # -> LOCKSTEP_TEST_AMQP (guest/guest, vhost /), LOCKSTEP_TEST_AMQP_CTL
  local d=$SVC/rabbit port dist epmd; port=$(free_port); dist=$(free_port); epmd=$(free_port)
  mkdir "$d"
  printf 'listeners.tcp.1 = 127.0.0.1:%s\nloopback_users = none\n' "$port" > "$d/rabbitmq.conf"
  echo '[].' > "$d/enabled_plugins"
  is_root && chown -R rabbitmq: "$d"
  local env="HOME='$d' RABBITMQ_NODENAME='lockstep-$port@localhost' RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$dist RABBITMQ_CTL_DIST_PORT_MIN=0 RABBITMQ_CTL_DIST_PORT_MAX=0 \
RABBITMQ_MNESIA_BASE='$d/mnesia' RABBITMQ_LOG_BASE='$d/log' RABBITMQ_CONFIG_FILE='$d/rabbitmq.conf' \
RABBITMQ_ENABLED_PLUGINS_FILE='$d/enabled_plugins' RABBITMQ_PID_FILE='$d/pid' RABBITMQ_CONF_ENV_FILE=/dev/null \
ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$epmd \
'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}' \
'RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}'"
  SVC_STOPS+=("/usr/bin/epmd -port $epmd -kill")   # epmd daemonizes: not our child, stop it via its port
  svc_ctl rabbit "
rctl() { (cd '$d' && as_user rabbitmq env $env /usr/lib/rabbitmq/bin/rabbitmqctl \"\$@\"); }
case \"\$1\" in
  start) (cd '$d' && exec </dev/null && as_user rabbitmq env $env /usr/lib/rabbitmq/bin/rabbitmq-server >'$d/out.log' 2>&1) >/dev/null 2>&1 &
         echo \$! > '$d/launcher.pid'
         wait_tcp $port '$d/launcher.pid' 120 && rctl await_startup --timeout 60 >/dev/null ;;
  stop) rctl stop '$d/pid' >/dev/null 2>&1 || stop_pidfile '$d/pid' TERM; wait_closed $port ;;
  kill) stop_pidfile '$d/pid' KILL; wait_closed $port ;;
esac" || return 1
  LOCKSTEP_TEST_AMQP_CTL=$SVC_CTL
  export LOCKSTEP_TEST_AMQP="amqp://guest:guest@127.0.0.1:$port/" LOCKSTEP_TEST_AMQP_CTL
}

start_nats() {        # -> LOCKSTEP_TEST_NATS (JetStream on), LOCKSTEP_TEST_NATS_CTL
  local d=$SVC/nats port; port=$(free_port); mkdir "$d"
  svc_ctl nats "
case \"\$1\" in
  start) /usr/sbin/nats-server -js -sd '$d' -a 127.0.0.1 -p $port >>'$d/nats.log' 2>&1 </dev/null & echo \$! > '$d/pid'
         wait_tcp $port '$d/pid' 30 ;;
  stop) stop_pidfile '$d/pid' TERM; wait_closed $port ;;
  kill) stop_pidfile '$d/pid' KILL; wait_closed $port ;;
esac" || return 1
  LOCKSTEP_TEST_NATS_CTL=$SVC_CTL
  export LOCKSTEP_TEST_NATS="nats://127.0.0.1:$port" LOCKSTEP_TEST_NATS_CTL
}

start_mqtt() {        # -> LOCKSTEP_TEST_MQTT (anonymous, persistent sessions), LOCKSTEP_TEST_MQTT_CTL
  # Mosquitto holds sessions and queued messages in memory and writes them out on autosave; with autosave_on_changes and
  # an interval of 1 it writes after every change (a persistent session, a subscription, a queued message), so a SIGKILL
  # loses only what arrived since (a message sent straight on to a connected client is not counted as a change).
  local d=$SVC/mqtt port; port=$(free_port); mkdir "$d"
  is_root && chown mosquitto: "$d"             # as root mosquitto drops to user mosquitto: it must own the dir
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nautosave_interval 1\nautosave_on_changes true\nlog_dest stdout\n' \
    "$port" "$d" > "$d/mosquitto.conf"
  svc_ctl mqtt "
case \"\$1\" in
  start) /usr/sbin/mosquitto -c '$d/mosquitto.conf' >>'$SVC/mqtt.log' 2>&1 </dev/null & echo \$! > '$SVC/mqtt.pid'
         wait_tcp $port '$SVC/mqtt.pid' 30 ;;
  stop) stop_pidfile '$SVC/mqtt.pid' TERM; wait_closed $port ;;
  kill) stop_pidfile '$SVC/mqtt.pid' KILL; wait_closed $port ;;
esac" || return 1
  LOCKSTEP_TEST_MQTT_CTL=$SVC_CTL
  export LOCKSTEP_TEST_MQTT="mqtt://127.0.0.1:$port" LOCKSTEP_TEST_MQTT_CTL
}

start_caldav() {      # start_caldav USER PASSWORD -> LOCKSTEP_TEST_CALDAV (base URL), _CALDAV_USER, _CALDAV_PASSWORD, _CALDAV_CTL
  local d=$SVC/caldav port; port=$(free_port); mkdir "$d"
  echo "$1:$2" > "$d/users"
  printf '[server]\nhosts = 127.0.0.1:%s\n[auth]\ntype = htpasswd\nhtpasswd_filename = %s/users\nhtpasswd_encryption = plain\ndelay = 0\n[storage]\nfilesystem_folder = %s/collections\n[logging]\nlevel = warning\n' \
    "$port" "$d" "$d" > "$d/config"
  svc_ctl caldav "
case \"\$1\" in
  start) /usr/bin/python3 -m radicale --config '$d/config' >>'$d/caldav.log' 2>&1 </dev/null & echo \$! > '$d/pid'
         wait_tcp $port '$d/pid' 30 ;;
  stop) stop_pidfile '$d/pid' TERM; wait_closed $port ;;
  kill) stop_pidfile '$d/pid' KILL; wait_closed $port ;;
esac" || return 1
  LOCKSTEP_TEST_CALDAV_CTL=$SVC_CTL
  export LOCKSTEP_TEST_CALDAV="http://127.0.0.1:$port/" LOCKSTEP_TEST_CALDAV_USER="$1" LOCKSTEP_TEST_CALDAV_PASSWORD="$2" LOCKSTEP_TEST_CALDAV_CTL
}

start_mariadb() {     # -> LOCKSTEP_TEST_MYSQL (db+user "lockstep" over TCP), LOCKSTEP_TEST_MYSQL_CTL (stop|start|kill)
  # Debian's mariadb-server, run as user mysql (or the caller when not root) with its own datadir; root logs in by socket.
  # innodb-flush-log-at-trx-commit=2: each commit reaches the OS at once, so killing the server loses no acknowledged commit.
  local d=$SVC/mariadb port me; port=$(free_port); me=$(id -un); mkdir -m 700 "$d"; is_root && chown mysql: "$d"
  local run=""; is_root && run="runuser -u mysql --"
  $run /usr/bin/mariadb-install-db --no-defaults --datadir="$d/data" --auth-root-authentication-method=socket \
    --auth-root-socket-user="$me" --skip-test-db >"$d.install.log" 2>&1 || { tail -20 "$d.install.log" >&2; return 1; }
  svc_ctl mariadb "
run() { if is_root; then runuser -u mysql -- \"\$@\"; else \"\$@\"; fi; }
case \"\$1\" in
  start) run /usr/sbin/mariadbd --no-defaults --datadir='$d/data' --bind-address=127.0.0.1 --port=$port --socket='$d/sock' \\
           --pid-file='$d/pid' --log-error='$d/err.log' --skip-name-resolve --innodb-flush-log-at-trx-commit=2 >/dev/null 2>&1 </dev/null &
         echo \$! > '$d/launcher.pid'
         wait_tcp $port '$d/launcher.pid' 60 ;;
  stop) stop_pidfile '$d/pid' TERM; wait_closed $port ;;
  kill) stop_pidfile '$d/pid' KILL; wait_closed $port ;;
esac" || return 1
  LOCKSTEP_TEST_MYSQL_CTL=$SVC_CTL
  /usr/bin/mariadb --no-defaults -S "$d/sock" -u root -e "CREATE DATABASE lockstep; CREATE USER 'lockstep'@'127.0.0.1' IDENTIFIED BY 'lockstep'; GRANT ALL ON lockstep.* TO 'lockstep'@'127.0.0.1'" || return 1
  export LOCKSTEP_TEST_MYSQL="Server=127.0.0.1;Port=$port;User ID=lockstep;Password=lockstep;Database=lockstep" LOCKSTEP_TEST_MYSQL_CTL
}

# Installs the servers' Debian packages when one is missing (needs root; CI and these machines run as root).
install_services() {
  local need=()
  [ -x /usr/lib/postgresql/15/bin/initdb ] && [ -f /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15 postgresql-15-postgis-3)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
  [ -x /usr/sbin/nats-server ] || need+=(nats-server)
  [ -x /usr/sbin/mosquitto ] || need+=(mosquitto mosquitto-clients)
  /usr/bin/python3 -c 'import radicale' 2>/dev/null || need+=(radicale)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v ss >/dev/null || need+=(iproute2)
  [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
  [ ${#need[@]} -eq 0 ] && return 0
  is_root || { echo "missing packages (${need[*]}) and not root: install them with apt-get" >&2; return 1; }
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  # Keep maintainer scripts from starting system-wide services (rabbitmq on 0.0.0.0:5672, mosquitto, postgresql 'main').
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends --no-upgrade "${need[@]}"
}

start_smalldisk() {   # -> LOCKSTEP_TEST_SMALLDISK: a 4 MB tmpfs that tests fill up (a full journal disk); unmounted on exit
  is_root || { echo "a small tmpfs needs root to mount; LOCKSTEP_TEST_SMALLDISK stays unset" >&2; return 1; }
  local d=$SVC/smalldisk
  mkdir -p "$d" && mount -t tmpfs -o size=4m,mode=1777 lockstep-smalldisk "$d" || return 1
  SVC_STOPS+=("umount '$d'")
  export LOCKSTEP_TEST_SMALLDISK=$d
}

# npm tools of the sign-in and OpenAPI tests (tests/node: oidc-provider, @redocly/cli), pinned by its package-lock.json.
install_node_tools() {
  command -v npm >/dev/null || { echo "node and npm are needed for the sign-in and OpenAPI tests (apt-get install nodejs npm)" >&2; return 1; }
  (cd "$(dirname "${BASH_SOURCE[0]}")/node" && npm ci --no-audit --no-fund --loglevel=error)
}
