#!/usr/bin/env bash
# A throwaway Kubernetes control plane on loopback for the Kubernetes
# provider's tests: etcd (Debian etcd-server), kube-apiserver,
# kube-controller-manager and kube-scheduler (built from the Go module
# proxy), and kwok, which fakes three GPU nodes so that the real scheduler
# places pods by their nvidia.com/gpu requests, and refuses them:
#
#   kwok-gpu-0, kwok-gpu-1   8 nvidia.com/gpu, nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3
#   kwok-gpu-2               4 nvidia.com/gpu, nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB
#
# kwok runs no container. Its pod stages are replaced here so that a pod
# goes Running but never completes by itself: a test that needs the job's
# command to run acts as the kubelet (it runs the container's command as a
# local process and writes the pod's status), see docs/kubernetes.md.
#
#   scripts/k8s-test-env.sh start    build once (cached), start, print the environment
#   scripts/k8s-test-env.sh env      print the environment of the running instance
#   scripts/k8s-test-env.sh status   say whether an instance runs
#   scripts/k8s-test-env.sh stop     stop the processes it started, remove its directory
#
# For developers:   scripts/k8s-test-env.sh start && go test ./plugins/kubernetes/...; scripts/k8s-test-env.sh stop
# The tests find the running instance through $LLMOPS_TEST_K8S_HOME/env.sh
# (default /tmp/llmops-k8s-test/env.sh) when the variables are not exported.
#
# Printed: KUBECONFIG (an admin token in system:masters; TLS with the
# apiserver's self-signed certificate, not verified), LLMOPS_TEST_K8S_DIR.
#
# The binaries: `go install k8s.io/kubernetes/cmd/kube-apiserver@v` is
# refused (k8s.io/kubernetes replaces its staging modules with local
# directories), so a wrapper module requires k8s.io/kubernetes and
# replaces each staging module with its published v0.x release. They are
# built once per version into $LLMOPS_K8S_CACHE (default
# ~/.cache/llmops-k8s)/<version>/, outside the clone: about 13 minutes on
# 2 cores cold, then nothing. K8S_VERSION (default v1.36.3), KWOK_VERSION
# (v0.7.0). Ports: LLMOPS_K8S_ETCD_PORT, LLMOPS_K8S_APISERVER_PORT, else free ones.
set -euo pipefail

HOME_LINK=${LLMOPS_TEST_K8S_HOME:-/tmp/llmops-k8s-test}
V=${K8S_VERSION:-v1.36.3}
KWOK_V=${KWOK_VERSION:-v0.7.0}
CACHE=${LLMOPS_K8S_CACHE:-$HOME/.cache/llmops-k8s}
BIN=$CACHE/$V
PROCS="kwok scheduler kcm apiserver etcd"

say() { echo "k8s-test-env: $*" >&2; }
die() { say "$*"; exit 1; }

waitfor() { # waitfor SECONDS CMD...: retry CMD every 0.1 s
  local n=$(($1 * 10)) i; shift
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# start_kwok starts kwok in the current directory; its server's port is
# free when picked but may be taken before kwok binds it (kwok then
# exits): it is tried again on another port, three times at most.
start_kwok() {
  local i pid port
  for i in 1 2 3; do
    port=$(free_port)
    setsid "$BIN/kwok" --kubeconfig=kubeconfig --config=kwok.yaml --manage-all-nodes=false --node-lease-duration-seconds=40 \
      --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake --cidr=10.244.0.0/16 --node-ip=10.0.0.1 \
      --server-address="127.0.0.1:$port" >kwok.log 2>&1 </dev/null &
    pid=$!
    echo "$pid" >kwok.pid
    waitfor 30 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$port) || ! kill -0 $pid" || true
    kill -0 "$pid" 2>/dev/null && return 0
    say "kwok exited (its server port $port was taken?): trying another port"
  done
  die "kwok did not start (kwok.log)"
}

free_port() { # a port nothing listens on (a random one, checked)
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    echo "$p"; return 0
  done
  die "no free port found"
}

build() { # the control plane's binaries, once per version
  local have=1 c
  for c in kube-apiserver kube-controller-manager kube-scheduler kwok; do [[ -x $BIN/$c ]] || have=0; done
  ((have)) && return 0
  command -v go >/dev/null || die "go is needed to build the control plane"
  say "building Kubernetes $V and kwok $KWOK_V into $BIN (once; about 13 minutes on 2 cores)"
  local w=$CACHE/build-$V sv=v0${V#v1} mod minor
  mkdir -p "$w" "$BIN"
  (
    cd "$w"
    go mod download -json "k8s.io/kubernetes@$V" >/dev/null
    mod=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$V.mod
    {
      echo "module kbuild"; echo "go 1.26.0"; echo "require k8s.io/kubernetes $V"; echo "replace ("
      sed -n '/^replace (/,/^)/p' "$mod" | awk -v sv="$sv" '/=>/ && $1 != "k8s.io/sample-cli-plugin" {print "  " $1 " => " $1 " " sv}'
      echo ")"
    } >go.mod
    printf '//go:build tools\npackage tools\nimport (\n _ "k8s.io/kubernetes/cmd/kube-apiserver"\n _ "k8s.io/kubernetes/cmd/kube-controller-manager"\n _ "k8s.io/kubernetes/cmd/kube-scheduler"\n)\n' >tools.go
    go mod tidy
    minor=$(echo "$V" | cut -d. -f2)
    # Without the version stamp, clients refuse the server's version.
    ldf="-X k8s.io/component-base/version.gitVersion=$V -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$V"
    for c in kube-apiserver kube-controller-manager kube-scheduler; do
      go build -ldflags "$ldf" -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c" && mv "$BIN/$c.tmp" "$BIN/$c"
    done
    GOBIN="$BIN" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_V"
  ) >&2
}

alive() { # alive DIR NAME: the process started for NAME runs
  local pid st
  [[ -s $1/$2.pid ]] || return 1
  pid=$(cat "$1/$2.pid")
  st=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  [[ $st != Z* ]]
}

current_dir() { [[ -L $HOME_LINK || -d $HOME_LINK ]] && readlink -f "$HOME_LINK"; }

running() { alive "$1" apiserver && alive "$1" etcd; }

stop_dir() {
  local dir=$1 p pid
  [[ -d $dir ]] || return 0
  for p in $PROCS; do
    alive "$dir" "$p" || continue
    pid=$(cat "$dir/$p.pid")
    kill "$pid" 2>/dev/null || true
    # kube-apiserver can hang in its graceful shutdown: SIGKILL after 5 s.
    waitfor 5 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
  if [[ ! -e $HOME_LINK || $(readlink -f "$HOME_LINK" 2>/dev/null) == "$(readlink -f "$dir" 2>/dev/null || echo "$dir")" ]]; then
    rm -f "$HOME_LINK"
  fi
}

kwok_config() { # pods go Running and stay there; deleted pods go away
  # kwok's informers ask for watch-list streams (sendInitialEvents), which
  # kube-apiserver refuses on Debian's etcd 3.4 (no RequestWatchProgress):
  # kwok then saw new pods only at its relists, tens of seconds late. The
  # apiserver runs with WatchList=false (clients fall back to list and
  # watch at once), and kwok's per-node pod sync does not stream.
  cat <<'EOF'
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  enablePodsOnNodeSyncStreamWatch: false
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.podIP'
      operator: 'DoesNotExist'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    finalizers:
      empty: true
    delete: true
EOF
}

node_json() { # node_json NAME GPUS PRODUCT
  cat <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"$1","annotations":{"kwok.x-k8s.io/node":"fake"},
 "labels":{"kubernetes.io/hostname":"$1","kubernetes.io/os":"linux","type":"kwok","nvidia.com/gpu.product":"$3","nvidia.com/gpu.count":"$2"}},
 "status":{"capacity":{"cpu":"64","memory":"512Gi","pods":"110","nvidia.com/gpu":"$2"},
  "allocatable":{"cpu":"64","memory":"512Gi","pods":"110","nvidia.com/gpu":"$2"}}}
EOF
}

start() {
  local cur dir eport aport token url i
  if cur=$(current_dir) && running "$cur"; then
    say "already running in $cur"
    cat "$cur/env.sh"
    return 0
  fi
  [[ -n ${cur:-} ]] && stop_dir "$cur"
  command -v etcd >/dev/null || die "etcd not found: apt-get install etcd-server"
  command -v curl >/dev/null || die "curl is needed to wait for the API server"
  command -v openssl >/dev/null || die "openssl is needed for the service account keys"
  build
  dir=$(mktemp -d /tmp/llmops-k8s.XXXXXX)
  trap 'rc=$?; if ((rc)); then for f in "$dir"/*.log; do [[ -f $f ]] && { echo "== $f" >&2; tail -n 15 "$f" >&2; }; done; stop_dir "$dir"; fi' EXIT
  cd "$dir"
  eport=${LLMOPS_K8S_ETCD_PORT:-$(free_port)}
  aport=${LLMOPS_K8S_APISERVER_PORT:-$(free_port)}
  # setsid: the processes outlive this script (and the CI step that sourced it).
  setsid etcd --name llmops --data-dir "$dir/etcd" --listen-client-urls "http://127.0.0.1:$eport" \
    --advertise-client-urls "http://127.0.0.1:$eport" --listen-peer-urls "http://127.0.0.1:$(free_port)" \
    --unsafe-no-fsync >etcd.log 2>&1 </dev/null &
  echo $! >etcd.pid
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token,admin,admin,system:masters" >tokens.csv
  chmod 600 tokens.csv sa.key
  waitfor 30 curl -sf -m 1 "http://127.0.0.1:$eport/health" || die "etcd does not answer on port $eport"
  setsid "$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$eport" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$aport" --cert-dir="$dir/certs" --token-auth-file=tokens.csv --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file=sa.pub \
    --service-account-signing-key-file=sa.key --service-cluster-ip-range=10.96.0.0/24 \
    --endpoint-reconciler-type=none --feature-gates=WatchList=false >apiserver.log 2>&1 </dev/null &
  echo $! >apiserver.pid
  url=https://127.0.0.1:$aport
  cat >kubeconfig <<EOF
apiVersion: v1
kind: Config
clusters: [{name: llmops-test, cluster: {server: "$url", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: "$token"}}]
contexts: [{name: llmops-test, context: {cluster: llmops-test, user: admin, namespace: default}}]
current-context: llmops-test
EOF
  chmod 600 kubeconfig
  api() { curl -sfk -m 5 -H "Authorization: Bearer $token" "$@"; }
  waitfor 60 bash -c "curl -sfk -m 1 -H 'Authorization: Bearer $token' $url/readyz | grep -q '^ok'" || die "kube-apiserver is not ready on $url"
  setsid "$BIN/kube-controller-manager" --kubeconfig=kubeconfig --authentication-kubeconfig=kubeconfig \
    --authorization-kubeconfig=kubeconfig --bind-address=127.0.0.1 --secure-port="$(free_port)" --leader-elect=false \
    --service-account-private-key-file=sa.key --use-service-account-credentials=false --controllers='*' \
    --node-monitor-grace-period=10m \
    >kcm.log 2>&1 </dev/null &
  echo $! >kcm.pid
  setsid "$BIN/kube-scheduler" --kubeconfig=kubeconfig --authentication-kubeconfig=kubeconfig \
    --authorization-kubeconfig=kubeconfig --bind-address=127.0.0.1 --secure-port="$(free_port)" --leader-elect=false \
    >scheduler.log 2>&1 </dev/null &
  echo $! >scheduler.pid
  kwok_config >kwok.yaml
  # Node leases renewed by kwok, and a long grace period: on a loaded
  # machine a late heartbeat must not mark the fake nodes (and their
  # pods) NotReady in the middle of a test.
  start_kwok
  node_json kwok-gpu-0 8 NVIDIA-H100-80GB-HBM3 | api -X POST -H 'Content-Type: application/json' --data-binary @- "$url/api/v1/nodes" >/dev/null
  node_json kwok-gpu-1 8 NVIDIA-H100-80GB-HBM3 | api -X POST -H 'Content-Type: application/json' --data-binary @- "$url/api/v1/nodes" >/dev/null
  node_json kwok-gpu-2 4 NVIDIA-A100-SXM4-80GB | api -X POST -H 'Content-Type: application/json' --data-binary @- "$url/api/v1/nodes" >/dev/null
  # Ready once kwok made the nodes Ready and the controllers made the
  # default namespace's service account (pods need it).
  for i in 0 1 2; do
    waitfor 60 bash -c "curl -sfk -m 1 -H 'Authorization: Bearer $token' $url/api/v1/nodes/kwok-gpu-$i | grep -q '\"type\": \"Ready\"'" ||
      die "node kwok-gpu-$i did not become Ready (kwok.log)"
  done
  waitfor 60 api "$url/api/v1/namespaces/default/serviceaccounts/default" || die "the default service account was not created (kcm.log)"
  {
    echo "# the llmops Kubernetes test control plane in $dir (stop: scripts/k8s-test-env.sh stop)"
    printf 'export LLMOPS_TEST_K8S_DIR=%q\n' "$dir"
    printf 'export KUBECONFIG=%q\n' "$dir/kubeconfig"
  } >env.sh
  ln -sfn "$dir" "$HOME_LINK"
  trap - EXIT
  say "ready in $dir: $url"
  cat env.sh
}

case ${1:-} in
start) start ;;
build) build ;;
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
  dir=${2:-${LLMOPS_TEST_K8S_DIR:-$(current_dir || true)}}
  [[ -n $dir ]] || { say "nothing to stop"; exit 0; }
  stop_dir "$dir"
  say "stopped $dir"
  ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
