#!/bin/sh
# Klaxon's container entrypoint: bring the schema up to date, then run the command
# (`klaxon serve` by default) as PID 1, so it receives SIGTERM and SIGHUP itself.
#
# KLAXON_MIGRATE_ON_START=false skips the migration, for deployments where a
# one-shot job migrates first (docker-compose.yml's `migrate`, the Kubernetes Job).
# Replicas that do migrate at start take turns: on PostgreSQL `klaxon migrate`
# holds an advisory lock.
set -eu

case "${KLAXON_MIGRATE_ON_START:-true}" in
    true | 1 | yes)
        echo "klaxon-entrypoint: klaxon migrate" >&2
        klaxon migrate
        ;;
    false | 0 | no)
        ;;
    *)
        echo "klaxon-entrypoint: KLAXON_MIGRATE_ON_START must be true or false, not '${KLAXON_MIGRATE_ON_START}'" >&2
        exit 64
        ;;
esac

if [ "$#" -eq 0 ]; then
    set -- klaxon serve
fi
exec "$@"
