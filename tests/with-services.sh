#!/usr/bin/env bash
# Runs one command with every test server started (as ./test.sh does), e.g.
#   tests/with-services.sh dotnet test tests/Lockstep.Tests --filter Postgres
set -uo pipefail
. "$(dirname "$0")/services.sh"
trap svc_cleanup EXIT
trap 'exit 130' INT TERM
install_services >/dev/null || exit 1
{ start_rabbit && start_pg && start_nats && start_mqtt && start_caldav lockstep "caldav-$RANDOM$RANDOM" && start_mariadb; } || exit 1
start_smalldisk || echo "warning: no small disk for the full-disk test (it will fail saying how to run it)" >&2
"$@"
