#!/usr/bin/env bash
# A throwaway AWS emulator (the moto server: S3, EC2, IAM, SageMaker, ... on
# one port) on loopback, for every test that talks to AWS: the remote
# artifact store (s3://) and the AWS provider. One instance is shared by
# all of them: tests never reset it (POST /moto-api/reset would wipe what a
# parallel test is using); each test makes its own bucket with a random name.
#
#   scripts/aws-test-env.sh start    start (or find the running one), print the environment
#   scripts/aws-test-env.sh env      print the environment of the running instance
#   scripts/aws-test-env.sh status   say whether an instance runs
#   scripts/aws-test-env.sh stop     stop the server it started, remove its directory
#
# For developers:   scripts/aws-test-env.sh start && make test; scripts/aws-test-env.sh stop
# The tests find the running instance through $LLMOPS_TEST_AWS_HOME/env.sh
# (default /tmp/llmops-aws-test/env.sh) when the variables are not exported.
#
# Printed (and read by the tests): LLMOPS_TEST_AWS_ENDPOINT_URL,
# LLMOPS_TEST_AWS_REGION, LLMOPS_TEST_AWS_ACCESS_KEY_ID,
# LLMOPS_TEST_AWS_SECRET_ACCESS_KEY (moto accepts any key; these are not
# secrets) and LLMOPS_TEST_AWS_DIR. Nothing is exported as AWS_*: a test
# gives the credentials to what it starts, so a developer's own AWS
# settings are never used against the emulator, nor the reverse.
#
# moto is not a Debian package: it comes with the machine's pyenv Python
# (moto_server on PATH, or under ~/.pyenv). The port is LLMOPS_AWS_TEST_PORT,
# else a free one.
set -euo pipefail

HOME_LINK=${LLMOPS_TEST_AWS_HOME:-/tmp/llmops-aws-test}
REGION=us-east-1

say() { echo "aws-test-env: $*" >&2; }
die() { say "$*"; exit 1; }

find_moto() {
  local m
  for m in "$(command -v moto_server 2>/dev/null || true)" \
    "$(pyenv which moto_server 2>/dev/null || true)" \
    "${PYENV_ROOT:-$HOME/.pyenv}/shims/moto_server" /root/.pyenv/shims/moto_server; do
    [[ -n $m && -x $m ]] && { echo "$m"; return 0; }
  done
  return 1
}

find_python() { # the Python that runs moto (it has no other use here)
  local p
  for p in "$(dirname "$1")/python3" "$(command -v python3 2>/dev/null || true)"; do
    [[ -n $p && -x $p ]] && { echo "$p"; return 0; }
  done
  return 1
}

alive() { # alive PID: the process runs and is a moto server
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $st != Z* ]] || return 1
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q moto_server
}

current_dir() { [[ -L $HOME_LINK || -d $HOME_LINK ]] && readlink -f "$HOME_LINK"; }

running() { [[ -s $1/pid ]] && alive "$(cat "$1/pid")"; }

waitfor() { # waitfor SECONDS CMD...: retry CMD every 0.1 s
  local n=$(($1 * 10)) i; shift
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

stop_dir() {
  local dir=$1 pid
  [[ -d $dir ]] || return 0
  if [[ -s $dir/pid ]]; then
    pid=$(cat "$dir/pid")
    if alive "$pid"; then
      kill "$pid" 2>/dev/null || true
      waitfor 5 bash -c "! kill -0 $pid" || { alive "$pid" && kill -9 "$pid" 2>/dev/null || true; }
    fi
  fi
  rm -rf "$dir"
  if [[ ! -e $HOME_LINK || $(readlink -f "$HOME_LINK" 2>/dev/null) == "$(readlink -f "$dir" 2>/dev/null || echo "$dir")" ]]; then
    rm -f "$HOME_LINK"
  fi
}

start() {
  local cur moto py port
  if cur=$(current_dir) && running "$cur"; then
    say "already running in $cur"
    cat "$cur/env.sh"
    return 0
  fi
  [[ -n ${cur:-} ]] && stop_dir "$cur"
  moto=$(find_moto) || die "moto_server not found (it comes with the machine's pyenv Python: pip install 'moto[server]' where a package index is reachable)"
  command -v curl >/dev/null || die "curl is needed to wait for the server"
  WORK=$(mktemp -d /tmp/llmops-aws.XXXXXX)
  trap 'rc=$?; if ((rc)); then [[ -f $WORK/log ]] && tail -n 20 "$WORK/log" >&2; stop_dir "$WORK"; fi' EXIT
  port=${LLMOPS_AWS_TEST_PORT:-}
  if [[ -z $port ]]; then
    py=$(find_python "$moto") || die "no python3 to pick a free port with; set LLMOPS_AWS_TEST_PORT"
    port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  fi
  # setsid: the server outlives this script (and the CI step that sourced it).
  setsid "$moto" -H 127.0.0.1 -p "$port" >"$WORK/log" 2>&1 </dev/null &
  echo $! >"$WORK/pid"
  local url=http://127.0.0.1:$port
  waitfor 30 curl -sf -m 1 "$url/moto-api/" || die "moto does not answer on $url"
  {
    echo "# the llmops AWS emulator (moto) in $WORK (stop: scripts/aws-test-env.sh stop)"
    printf 'export LLMOPS_TEST_AWS_DIR=%q\n' "$WORK"
    printf 'export LLMOPS_TEST_AWS_ENDPOINT_URL=%q\n' "$url"
    printf 'export LLMOPS_TEST_AWS_REGION=%q\n' "$REGION"
    printf 'export LLMOPS_TEST_AWS_ACCESS_KEY_ID=%q\n' testing
    printf 'export LLMOPS_TEST_AWS_SECRET_ACCESS_KEY=%q\n' testing
  } >"$WORK/env.sh"
  ln -sfn "$WORK" "$HOME_LINK"
  trap - EXIT
  say "ready in $WORK: $url"
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
    echo "running in $cur: $(grep ENDPOINT_URL "$cur/env.sh" | cut -d= -f2)"
  else
    echo "not running"
    exit 1
  fi
  ;;
stop)
  dir=${2:-${LLMOPS_TEST_AWS_DIR:-$(current_dir || true)}}
  [[ -n $dir ]] || { say "nothing to stop"; exit 0; }
  stop_dir "$dir"
  say "stopped $dir"
  ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
