# shellcheck shell=bash
# Sourced by .ci/run before `make test`: starts a throwaway PostgreSQL 15 on
# 127.0.0.1 (TLS only, a password-protected role that owns its database,
# fsync off) with scripts/postgres-test-env.sh, exports the libpq variables
# (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT)
# and LLMOPS_TEST_POSTGRES_URL for the tests of the PostgreSQL state backend
# (docs/backends.md), and stops it when the CI shell exits.
#
# It is sourced: it changes no shell option, never exits the caller on
# success, and fails (return 1, which set -e in the caller turns into a
# failed run) when PostgreSQL cannot be started.

_llmops_pg_script="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/postgres-test-env.sh"
if ! _llmops_pg_env=$(bash "$_llmops_pg_script" start); then
  echo "postgres: could not start the test server" >&2
  unset _llmops_pg_env
  return 1
fi
eval "$_llmops_pg_env"
unset _llmops_pg_env
echo "postgres: test server in $LLMOPS_TEST_POSTGRES_DIR on $PGHOST:$PGPORT"

_llmops_pg_stop() {
  bash "$_llmops_pg_script" stop "$LLMOPS_TEST_POSTGRES_DIR" || true
}
# Chain with an EXIT trap the caller may have set already.
_llmops_pg_prev_trap=$(trap -p EXIT)
_llmops_pg_prev_trap=${_llmops_pg_prev_trap#trap -- }
_llmops_pg_prev_trap=${_llmops_pg_prev_trap% EXIT}
# shellcheck disable=SC2064
trap "_llmops_pg_stop${_llmops_pg_prev_trap:+; eval $_llmops_pg_prev_trap}" EXIT
unset _llmops_pg_prev_trap
