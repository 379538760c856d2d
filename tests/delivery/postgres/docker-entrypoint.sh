#!/bin/bash
# The official postgres image's start-up contract, reduced to what findata's Compose file
# uses: on an empty PGDATA, initdb as POSTGRES_USER with POSTGRES_PASSWORD (scram-sha-256
# for TCP clients; POSTGRES_HOST_AUTH_METHOD overrides), create POSTGRES_DB, listen on
# every address; on a PGDATA that holds a cluster, just start it. Runs the server as
# `postgres` (uid 999); a first argument that is not `postgres` or an option is exec'd.
set -Eeuo pipefail

if [[ "${1:-}" == -* ]]; then
  set -- postgres "$@"
fi
if [[ "${1:-}" != postgres ]]; then
  exec "$@"
fi

if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

user="${POSTGRES_USER:-postgres}"
database="${POSTGRES_DB:-$user}"
auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  if [[ -z "${POSTGRES_PASSWORD:-}" && "$auth" != trust ]]; then
    echo "Error: the database is uninitialized and POSTGRES_PASSWORD is not set." >&2
    echo "  Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust, never in production)." >&2
    exit 1
  fi
  password_file="$(mktemp)"
  printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$password_file"
  initdb --username="$user" --pwfile="$password_file" --auth-local=trust \
    --auth-host="$auth" --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$password_file"
  printf "\nhost all all all %s\n" "$auth" >> "$PGDATA/pg_hba.conf"
  # A private server while the database is created: no TCP, and its socket in a directory
  # of its own, so that neither clients nor the health check see it as the real server.
  init_socket="$(mktemp -d)"
  pg_ctl --pgdata="$PGDATA" --wait start \
    --options="-c listen_addresses='' -c unix_socket_directories='$init_socket'" >/dev/null
  if [[ "$database" != postgres ]]; then
    # stdin, not --command: psql interpolates :"db" (quoted as an identifier) only there
    psql --no-psqlrc --host="$init_socket" --username="$user" --dbname=postgres --set=ON_ERROR_STOP=1 \
      --set=db="$database" <<< 'CREATE DATABASE :"db"' >/dev/null
  fi
  pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop >/dev/null
  rmdir "$init_socket"
  echo "PostgreSQL init process complete; ready for start up."
fi

exec postgres -c listen_addresses='*' "${@:2}"
