#!/usr/bin/env bash
# A throwaway OCI registry (Debian's docker-registry, the CNCF distribution
# registry) on loopback, for the tests of the oci:// remote artifact store:
# plain HTTP, no authentication, filesystem storage in one temporary
# directory, deletion enabled (llmops gc deletes manifests). Tests share it:
# each uses its own repository name.
#
#   scripts/oci-test-env.sh start    install (apt-get, idempotent), start, print the environment
#   scripts/oci-test-env.sh env      print the environment of the running instance
#   scripts/oci-test-env.sh status   say whether an instance runs
#   scripts/oci-test-env.sh stop     stop the registry it started, remove its directory
#
# For developers:   scripts/oci-test-env.sh start && make test; scripts/oci-test-env.sh stop
# The tests find the running instance through $LLMOPS_TEST_OCI_HOME/env.sh
# (default /tmp/llmops-oci-test/env.sh) when the variables are not exported.
#
# Printed (and read by the tests): LLMOPS_TEST_OCI_REGISTRY (host:port),
# LLMOPS_TEST_OCI_DIR. The port is LLMOPS_OCI_TEST_PORT, else a free one.
set -euo pipefail

HOME_LINK=${LLMOPS_TEST_OCI_HOME:-/tmp/llmops-oci-test}
REGISTRY=/usr/bin/docker-registry

say() { echo "oci-test-env: $*" >&2; }
die() { say "$*"; exit 1; }

install() {
  [[ -x $REGISTRY ]] && return 0
  [[ $(id -u) == 0 ]] || die "docker-registry is not installed: sudo apt-get install docker-registry"
  say "installing docker-registry"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d/no systemd: the package does not start its daemon here
  apt-get install -y -q --no-install-recommends docker-registry >/dev/null
}

alive() { # alive PID: the process runs and is a registry
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $st != Z* ]] || return 1
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q docker-registry
}

current_dir() { [[ -L $HOME_LINK || -d $HOME_LINK ]] && readlink -f "$HOME_LINK"; }

running() { [[ -s $1/pid ]] && alive "$(cat "$1/pid")"; }

waitfor() { # waitfor SECONDS CMD...: retry CMD every 0.1 s
  local n=$(($1 * 10)) i; shift
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

free_port() { # a port nothing listens on, from the kernel's ephemeral range
  local lo hi p i
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
  for ((i = 0; i < 100; i++)); do
    p=$((lo + RANDOM % (hi - lo)))
    ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
  done
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
  local cur port try
  if cur=$(current_dir) && running "$cur"; then
    say "already running in $cur"
    cat "$cur/env.sh"
    return 0
  fi
  [[ -n ${cur:-} ]] && stop_dir "$cur"
  install
  command -v curl >/dev/null || die "curl is needed to wait for the registry"
  WORK=$(mktemp -d /tmp/llmops-oci.XXXXXX)
  trap 'rc=$?; if ((rc)); then [[ -f $WORK/log ]] && tail -n 20 "$WORK/log" >&2; stop_dir "$WORK"; fi' EXIT
  mkdir -p "$WORK/data"
  # A port picked here could be taken before the registry binds it: retry.
  for try in 1 2 3; do
    port=${LLMOPS_OCI_TEST_PORT:-$(free_port)} || die "no free port found; set LLMOPS_OCI_TEST_PORT"
    cat >"$WORK/config.yml" <<YML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $WORK/data}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$port
YML
    setsid "$REGISTRY" serve "$WORK/config.yml" >"$WORK/log" 2>&1 </dev/null &
    echo $! >"$WORK/pid"
    waitfor 10 curl -sf -m 1 "http://127.0.0.1:$port/v2/" && break
    running "$WORK" && die "the registry does not answer on 127.0.0.1:$port"
    [[ -n ${LLMOPS_OCI_TEST_PORT:-} ]] && die "the registry did not start on 127.0.0.1:$port: $(tail -n 3 "$WORK/log")"
    say "the registry did not start on port $port (taken?), trying another"
  done
  running "$WORK" || die "the registry did not start: $(tail -n 3 "$WORK/log")"
  {
    echo "# the llmops OCI test registry in $WORK (stop: scripts/oci-test-env.sh stop)"
    printf 'export LLMOPS_TEST_OCI_DIR=%q\n' "$WORK"
    printf 'export LLMOPS_TEST_OCI_REGISTRY=%q\n' "127.0.0.1:$port"
  } >"$WORK/env.sh"
  ln -sfn "$WORK" "$HOME_LINK"
  trap - EXIT
  say "ready in $WORK: http://127.0.0.1:$port"
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
    echo "running in $cur: $(grep REGISTRY= "$cur/env.sh" | cut -d= -f2)"
  else
    echo "not running"
    exit 1
  fi
  ;;
stop)
  dir=${2:-${LLMOPS_TEST_OCI_DIR:-$(current_dir || true)}}
  [[ -n $dir ]] || { say "nothing to stop"; exit 0; }
  stop_dir "$dir"
  say "stopped $dir"
  ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
