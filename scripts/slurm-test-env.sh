#!/usr/bin/env bash
# A throwaway Slurm (Debian's 22.05 packages) on loopback for the Slurm
# provider's tests: munged, slurmctld, slurmd and slurmrestd (JWT), two fake
# GPUs as GRES "gpu" (character devices made with mknod, AutoDetect=off), every
# file in one temporary directory, nothing in /etc touched.
#
# Partitions: debug (default) and urgent (higher priority, preempts debug)
# hold the host's node with the GPUs. multi adds a second, CPU-only node,
# llmops2: a second slurmd on the same host (its own port and spool), so
# multi-node jobs (srun across two nodes) run for real.
#
#   scripts/slurm-test-env.sh start    install (apt-get, idempotent), start, print the environment
#   scripts/slurm-test-env.sh env      print the environment of the running instance
#   scripts/slurm-test-env.sh status   say whether an instance runs
#   scripts/slurm-test-env.sh stop     cancel its jobs, stop the processes it started, remove its directory
#
# For developers:   sudo scripts/slurm-test-env.sh start && make test; sudo scripts/slurm-test-env.sh stop
# The tests find the running instance through $LLMOPS_TEST_SLURM_HOME/env.sh
# (default /tmp/llmops-slurm-test/env.sh) when the variables are not exported.
# Must run as root: slurmd starts jobs as their owners. Jobs submitted through
# slurmrestd run as the user `slurm`, so the shared directory is world-writable.
#
# Ports (override with the variables): slurmctld 16817, slurmd 16818 (llmops2:
# 16819), slurmrestd 16820.
set -euo pipefail

HOME_LINK=${LLMOPS_TEST_SLURM_HOME:-/tmp/llmops-slurm-test}
CTLD_PORT=${LLMOPS_SLURM_CTLD_PORT:-16817}
SLURMD_PORT=${LLMOPS_SLURM_SLURMD_PORT:-16818}
SLURMD2_PORT=${LLMOPS_SLURM_SLURMD2_PORT:-16819}
REST_PORT=${LLMOPS_SLURM_REST_PORT:-16820}
FAKE_CPUS=${LLMOPS_SLURM_CPUS:-8}       # schedulable CPUs (config_overrides): room for parallel test jobs
PKGS=(munge slurmctld slurmd slurm-client slurmrestd slurm-wlm-jwt-plugin curl)

say() { echo "slurm-test-env: $*" >&2; }
die() { say "$*"; exit 1; }

# alive PID NAME: the process runs and is the daemon we started (not a reused pid).
alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $st != Z* ]] || return 1
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

current_dir() { [[ -L $HOME_LINK || -d $HOME_LINK ]] && readlink -f "$HOME_LINK"; }

running() { # running DIR: every daemon listed in DIR/pids is alive
  local dir=$1 pid name n=0
  [[ -s $dir/pids ]] || return 1
  while read -r pid name; do alive "$pid" "$name" || return 1; n=$((n + 1)); done <"$dir/pids"
  ((n == 5))
}

install() {
  local missing=() p
  for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d/no systemd: the packages do not start their daemons
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

waitfor() { # waitfor SECONDS CMD...: retry CMD every 0.1 s
  local n=$(($1 * 10)); shift
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

stop_dir() {
  local dir=$1 pid name
  [[ -d $dir ]] || return 0
  if [[ -s $dir/pids ]] && [[ -f $dir/slurm.conf ]]; then
    # Cancel what still runs on this cluster so no job outlives it.
    SLURM_CONF=$dir/slurm.conf timeout 10 squeue -h -o %i 2>/dev/null | xargs -r env SLURM_CONF="$dir/slurm.conf" timeout 10 scancel 2>/dev/null || true
    SLURM_CONF=$dir/slurm.conf waitfor 10 bash -c '[[ -z $(squeue -h -t R,CG -o %i) ]]' || true
  fi
  if [[ -s $dir/pids ]]; then
    tac "$dir/pids" | while read -r pid name; do alive "$pid" "$name" && kill "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
      local up=0
      while read -r pid name; do alive "$pid" "$name" && up=1; done <"$dir/pids"
      ((up)) || break
      sleep 0.1
    done
    while read -r pid name; do alive "$pid" "$name" && kill -9 "$pid" 2>/dev/null || true; done <"$dir/pids"
  fi
  if [[ -z ${KEEP:-} ]]; then rm -rf "$dir"; fi
  if [[ $(readlink -f "$HOME_LINK" 2>/dev/null) == "$(readlink -f "$dir" 2>/dev/null || echo "$dir")" || ! -e $HOME_LINK ]]; then
    rm -f "$HOME_LINK"
  fi
}

print_env() { cat "$1/env.sh"; }

start() {
  [[ $(id -u) == 0 ]] || die "must run as root (slurmd starts jobs as their owners): sudo $0 start"
  local cur
  if cur=$(current_dir) && running "$cur"; then
    say "already running in $cur"
    print_env "$cur"
    return 0
  fi
  [[ -n ${cur:-} ]] && stop_dir "$cur"
  install
  id slurm >/dev/null 2>&1 || die "the slurm packages did not create the user 'slurm'"

  WORK=$(mktemp -d /tmp/llmops-slurm.XXXXXX)
  chmod 755 "$WORK"
  trap 'rc=$?; if ((rc)); then for f in "$WORK"/log/*; do [[ -f $f ]] && { echo "== $f"; tail -n 20 "$f"; } >&2; done; stop_dir "$WORK"; fi' EXIT
  local node
  node=$(hostname -s)
  mkdir -p "$WORK"/{munge,spool/ctld,spool/d,log,dev,restd,shared}
  chmod 755 "$WORK/munge"    # the socket's directory must be traversable by job users
  chmod 1777 "$WORK/shared"  # job scratch and outputs: jobs run as 'slurm' through slurmrestd
  chown slurm "$WORK/restd"  # slurmrestd binds its unix socket after dropping to 'slurm'
  : >"$WORK/pids"

  # munge, with its own key and socket
  dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1 count=1024 status=none
  chmod 400 "$WORK/munge/munge.key"
  local sock=$WORK/munge/munge.sock
  munged --force --socket="$sock" --key-file="$WORK/munge/munge.key" --pid-file="$WORK/munge/munged.pid" \
    --log-file="$WORK/log/munged.log" --seed-file="$WORK/munge/munged.seed"
  waitfor 5 test -s "$WORK/munge/munged.pid" || die "munged did not start"
  echo "$(cat "$WORK/munge/munged.pid") munged" >>"$WORK/pids"
  waitfor 5 test -S "$sock" || die "munged made no socket"

  # Two fake GPUs: slurmd wants File= to be a character device (here clones of
  # /dev/null, named like NVIDIA nodes; the index is the trailing digit).
  local i
  for i in 0 1; do mknod "$WORK/dev/nvidia$i" c 1 3 2>/dev/null || touch "$WORK/dev/nvidia$i"; done

  dd if=/dev/urandom of="$WORK/jwt_hs256.key" bs=32 count=1 status=none
  chmod 600 "$WORK/jwt_hs256.key"

  local mem
  mem=$(slurmd -C | grep -o 'RealMemory=[0-9]*' | cut -d= -f2)
  cat >"$WORK/slurm.conf" <<CONF
ClusterName=llmopstest
SlurmctldHost=${node}(127.0.0.1)
SlurmctldPort=${CTLD_PORT}
SlurmdPort=${SLURMD_PORT}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${sock}
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=${WORK}/jwt_hs256.key
StateSaveLocation=${WORK}/spool/ctld
SlurmdSpoolDir=${WORK}/spool/d/%n
SlurmctldPidFile=${WORK}/slurmctld.pid
SlurmdPidFile=${WORK}/slurmd-%n.pid
SlurmctldLogFile=${WORK}/log/slurmctld.log
SlurmdLogFile=${WORK}/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=${WORK}/log/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
MpiDefault=none
ReturnToService=2
MinJobAge=3600
KillWait=5
SlurmctldTimeout=30
SlurmdTimeout=30
GresTypes=gpu
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${FAKE_CPUS} Boards=1 SocketsPerBoard=1 CoresPerSocket=${FAKE_CPUS} ThreadsPerCore=1 RealMemory=${mem} Gres=gpu:2 State=UNKNOWN
NodeName=llmops2 NodeHostname=${node} NodeAddr=127.0.0.1 Port=${SLURMD2_PORT} CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP PriorityTier=1
PartitionName=urgent Nodes=${node} Default=NO MaxTime=INFINITE State=UP PriorityTier=10
PartitionName=multi Nodes=${node},llmops2 Default=NO MaxTime=INFINITE State=UP PriorityTier=1
CONF
  cat >"$WORK/gres.conf" <<CONF
AutoDetect=off
NodeName=${node} Name=gpu File=${WORK}/dev/nvidia[0-1] Flags=nvidia_gpu_env
CONF
  export SLURM_CONF=$WORK/slurm.conf

  slurmctld -f "$SLURM_CONF"
  waitfor 10 test -s "$WORK/slurmctld.pid" || die "slurmctld did not start"
  echo "$(cat "$WORK/slurmctld.pid") slurmctld" >>"$WORK/pids"
  # One slurmd per node, each named (both nodes have this host's name).
  local n
  for n in "$node" llmops2; do
    slurmd -f "$SLURM_CONF" -N "$n"
    waitfor 10 test -s "$WORK/slurmd-$n.pid" || die "slurmd of $n did not start"
    echo "$(cat "$WORK/slurmd-$n.pid") slurmd" >>"$WORK/pids"
  done
  waitfor 30 bash -c '[[ $(timeout 2 sinfo -h -N -p multi -o %t | sort -u) == idle ]]' || die "the nodes did not become idle: $(sinfo -N 2>&1)"

  # slurmrestd: JWT over TCP on loopback, the plain (non-slurmdbd) API only.
  # SLURM_JWT=daemon makes it talk
  # auth/jwt to slurmctld, which then accepts the users' tokens.
  SLURM_JWT=daemon setsid slurmrestd -f "$SLURM_CONF" -u slurm -s openapi/v0.0.38 -a rest_auth/jwt \
    "127.0.0.1:${REST_PORT}" >"$WORK/log/slurmrestd.log" 2>&1 </dev/null &
  echo "$! slurmrestd" >>"$WORK/pids"
  # slurmrestd refuses tokens of root: jobs submitted with this one run as 'slurm'.
  scontrol token username=slurm lifespan=172800 | sed 's/^SLURM_JWT=//' >"$WORK/jwt"
  chmod 600 "$WORK/jwt"
  local url=http://127.0.0.1:${REST_PORT}
  waitfor 20 curl -sf -m 1 -H "X-SLURM-USER-NAME: slurm" -H "X-SLURM-USER-TOKEN: $(cat "$WORK/jwt")" "$url/slurm/v0.0.38/ping" ||
    die "slurmrestd does not answer on $url"

  {
    echo "# the llmops Slurm test cluster in $WORK (stop: scripts/slurm-test-env.sh stop)"
    printf 'export LLMOPS_TEST_SLURM_DIR=%q\n' "$WORK"
    printf 'export LLMOPS_TEST_SLURM_URL=%q\n' "$url"
    printf 'export LLMOPS_TEST_SLURM_USER=%q\n' slurm
    printf 'export LLMOPS_TEST_SLURM_TOKEN_FILE=%q\n' "$WORK/jwt"
    printf 'export LLMOPS_TEST_SLURM_JWT=%q\n' "$(cat "$WORK/jwt")"
    printf 'export LLMOPS_TEST_SLURM_SHARED_DIR=%q\n' "$WORK/shared"
    printf 'export LLMOPS_TEST_SLURM_PARTITION=%q\n' debug
    printf 'export LLMOPS_TEST_SLURM_URGENT_PARTITION=%q\n' urgent
    printf 'export LLMOPS_TEST_SLURM_MULTI_PARTITION=%q\n' multi
    printf 'export LLMOPS_TEST_SLURM_GPUS=%q\n' 2
    printf 'export LLMOPS_TEST_SLURM_CONF=%q\n' "$SLURM_CONF"
  } >"$WORK/env.sh"
  ln -sfn "$WORK" "$HOME_LINK"
  trap - EXIT
  say "ready in $WORK: $(sinfo -h -N -o '%N %P %t %G' | tr '\n' ' '), REST $url"
  print_env "$WORK"
}

case ${1:-} in
start) start ;;
env)
  cur=$(current_dir) && running "$cur" || die "no instance runs (start one with: sudo $0 start)"
  print_env "$cur"
  ;;
status)
  if cur=$(current_dir) && running "$cur"; then
    echo "running in $cur"
    SLURM_CONF=$cur/slurm.conf sinfo -N -o '%N %P %t %G' || true
  else
    echo "not running"
    exit 1
  fi
  ;;
stop)
  dir=${2:-${LLMOPS_TEST_SLURM_DIR:-$(current_dir || true)}}
  [[ -n $dir ]] || { say "nothing to stop"; exit 0; }
  stop_dir "$dir"
  say "stopped $dir"
  ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
