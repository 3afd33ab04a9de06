#!/usr/bin/env bash
# A throwaway PostgreSQL 15 (Debian's postgresql-15) on 127.0.0.1 for the
# tests of the Postgres state backend: its own cluster in one temporary
# directory, TLS with a CA made for it (connections must use TLS), a
# password-protected role that owns its database and is not a superuser,
# nothing in /etc touched.
#
#   scripts/postgres-test-env.sh start    install (apt-get, idempotent), start, print the environment
#   scripts/postgres-test-env.sh env      print the environment of the running instance
#   scripts/postgres-test-env.sh status   say whether an instance runs
#   scripts/postgres-test-env.sh stop     stop it and remove its directory
#
# For developers:   eval "$(scripts/postgres-test-env.sh start)" && go test ./state/ ./cmd/llmops/
# The tests find the running instance through $LLMOPS_TEST_POSTGRES_HOME/env.sh
# (default /tmp/llmops-postgres-test/env.sh) when the variables are not exported.
#
# The environment printed: the libpq variables (PGHOST, PGPORT, PGUSER,
# PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT) and
# LLMOPS_TEST_POSTGRES_URL, a URL holding all of them.
#
# Settings: LLMOPS_POSTGRES_PORT (default: a free port), LLMOPS_POSTGRES_FSYNC
# (default off: tests need no durability across a power cut; `on` for
# benchmarks that should pay for it), LLMOPS_TEST_POSTGRES_HOME.
# initdb and postgres refuse to run as root: as root, the cluster runs as the
# user postgres.
set -euo pipefail

HOME_LINK=${LLMOPS_TEST_POSTGRES_HOME:-/tmp/llmops-postgres-test}
FSYNC=${LLMOPS_POSTGRES_FSYNC:-off}
PKGS=(postgresql-15 openssl)

say() { echo "postgres-test-env: $*" >&2; }
die() { say "$*"; exit 1; }

bindir() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [[ -x $d/initdb ]] && { echo "$d"; return 0; }
  done
  return 1
}

install() {
  local missing=() p
  command -v openssl >/dev/null || missing+=(openssl)
  bindir >/dev/null || missing+=(postgresql-15)
  ((${#missing[@]})) || return 0
  [[ $(id -u) == 0 ]] || die "PostgreSQL is not installed: sudo apt-get install ${PKGS[*]}"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d/no systemd: the package does not start a cluster of its own here
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

current_dir() { [[ -L $HOME_LINK || -d $HOME_LINK ]] && readlink -f "$HOME_LINK"; }

# as CMD...: run CMD as the cluster's owner.
as() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { # running DIR: the cluster in DIR answers
  local dir=$1 bin
  [[ -s $dir/env.sh && -d $dir/data ]] || return 1
  bin=$(bindir) || return 1
  (cd / && as "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1)
}

stop_dir() {
  local dir=$1 bin
  [[ -d $dir ]] || return 0
  if [[ -d $dir/data ]] && bin=$(bindir); then
    (cd / && as "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1) ||
      (cd / && as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1) || true
  fi
  if [[ -z ${KEEP:-} ]]; then rm -rf "$dir"; fi
  if [[ $(readlink -f "$HOME_LINK" 2>/dev/null) == "$(readlink -f "$dir" 2>/dev/null || echo "$dir")" || ! -e $HOME_LINK ]]; then
    rm -f "$HOME_LINK"
  fi
}

# tls DIR: a CA and a server certificate for 127.0.0.1 and localhost.
tls() {
  local d=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=llmops test CA" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
    -extfile "$d/san.ext" -out "$d/server.crt" 2>/dev/null
  chmod 600 "$d/server.key" "$d/ca.key"
}

# try_start BIN DATA PORT: start the cluster on PORT; fails when the port is taken.
try_start() {
  local bin=$1 data=$2 port=$3
  (cd / && as "$bin/pg_ctl" -D "$data" -l "$WORK/log/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$WORK/sock -c fsync=$FSYNC" start >/dev/null)
}

start() {
  local cur bin
  if cur=$(current_dir) && running "$cur"; then
    say "already running in $cur"
    cat "$cur/env.sh"
    return 0
  fi
  [[ -n ${cur:-} ]] && stop_dir "$cur"
  install
  bin=$(bindir) || die "no initdb under /usr/lib/postgresql/*/bin"

  WORK=$(mktemp -d /tmp/llmops-postgres.XXXXXX)
  chmod 755 "$WORK"
  trap 'rc=$?; if ((rc)); then [[ -f $WORK/log/postgres.log ]] && tail -n 30 "$WORK/log/postgres.log" >&2; stop_dir "$WORK"; fi' EXIT
  mkdir -p "$WORK"/{tls,log,sock}
  tls "$WORK/tls"
  local pass
  pass=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
  umask 077
  printf '%s\n' "$pass" >"$WORK/admin.pw"
  umask 022
  if [[ $(id -u) == 0 ]]; then chown -R postgres "$WORK/tls" "$WORK/log" "$WORK/sock" "$WORK/admin.pw"; chown postgres "$WORK"; fi

  # The bootstrap superuser connects only through the socket in $WORK/sock;
  # over TCP only TLS with a password is accepted.
  (cd / && as "$bin/initdb" -D "$WORK/data" -U llmops_admin --auth-local=peer --auth-host=scram-sha-256 \
    --pwfile="$WORK/admin.pw" -E UTF8 --locale=C.UTF-8 --no-sync >"$WORK/log/initdb.log" 2>&1) ||
    die "initdb failed: $(tail -n 5 "$WORK/log/initdb.log")"
  rm -f "$WORK/admin.pw"
  cat >"$WORK/data/pg_hba.conf" <<HBA
local   all  all                 trust
hostssl all  all  127.0.0.1/32   scram-sha-256
HBA
  cat >>"$WORK/data/postgresql.conf" <<CONF
ssl = on
ssl_cert_file = '$WORK/tls/server.crt'
ssl_key_file = '$WORK/tls/server.key'
max_connections = 200
synchronous_commit = on
CONF

  local port tries
  if [[ -n ${LLMOPS_POSTGRES_PORT:-} ]]; then
    port=$LLMOPS_POSTGRES_PORT
    try_start "$bin" "$WORK/data" "$port" || die "PostgreSQL did not start on port $port"
  else
    # A random port; postgres itself tells whether it is free (it fails to bind).
    for tries in $(seq 10); do
      port=$((20000 + RANDOM % 40000))
      try_start "$bin" "$WORK/data" "$port" && break
      grep -q "could not bind\|Address already in use" "$WORK/log/postgres.log" || die "PostgreSQL did not start"
      port=
    done
    [[ -n $port ]] || die "found no free port for PostgreSQL"
  fi

  # The tests' role: owns its database (so it may create schemas in it), no superuser.
  local psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK/sock" -p "$port" -U llmops_admin -d postgres)
  (cd / && as "${psql[@]}" -c "CREATE ROLE llmops LOGIN PASSWORD '$pass'" -c "CREATE DATABASE llmops OWNER llmops") >/dev/null ||
    die "could not create the test role and database"

  local url="postgres://llmops:${pass}@127.0.0.1:${port}/llmops?sslmode=verify-full&sslrootcert=${WORK}/tls/ca.crt"
  {
    echo "# the llmops PostgreSQL test server in $WORK (stop: scripts/postgres-test-env.sh stop)"
    # Single-quoted: no value here holds a quote (mktemp names, hex, digits).
    printf "export LLMOPS_TEST_POSTGRES_DIR='%s'\n" "$WORK"
    printf "export LLMOPS_TEST_POSTGRES_URL='%s'\n" "$url"
    printf "export PGHOST='%s' PGPORT='%s' PGUSER='%s' PGDATABASE='%s'\n" 127.0.0.1 "$port" llmops llmops
    printf "export PGPASSWORD='%s'\n" "$pass"
    printf "export PGSSLMODE='%s' PGSSLROOTCERT='%s'\n" verify-full "$WORK/tls/ca.crt"
  } >"$WORK/env.sh"
  chmod 644 "$WORK/env.sh" "$WORK/tls/ca.crt"
  ln -sfn "$WORK" "$HOME_LINK"
  trap - EXIT
  say "ready in $WORK: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (TLS, fsync=$FSYNC)"
  cat "$WORK/env.sh"
}

case ${1:-} in
start) start ;;
env)
  cur=$(current_dir) && running "$cur" || die "no instance runs (start one with: $0 start)"
  cat "$cur/env.sh"
  ;;
status)
  if cur=$(current_dir) && running "$cur"; then
    echo "running in $cur"
  else
    echo "not running"
    exit 1
  fi
  ;;
stop)
  dir=${2:-${LLMOPS_TEST_POSTGRES_DIR:-$(current_dir || true)}}
  [[ -n $dir ]] || { say "nothing to stop"; exit 0; }
  stop_dir "$dir"
  say "stopped $dir"
  ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
