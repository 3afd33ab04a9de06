# shellcheck shell=bash
# Sourced by .ci/run before `make test`: starts a throwaway Kubernetes
# control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok with three fake GPU nodes) on loopback with
# scripts/k8s-test-env.sh, exports KUBECONFIG and LLMOPS_TEST_K8S_DIR (see
# docs/kubernetes.md), and stops what it started when the CI shell exits.
# The first run on a machine builds the control plane from the Go module
# proxy (about 13 minutes on 2 cores) into ~/.cache/llmops-k8s/<version>;
# later runs start in seconds.
#
# It is sourced: it changes no shell option, never exits the caller on
# success, and fails (return 1, which set -e in the caller turns into a
# failed run) when the control plane cannot be started.

_llmops_k8s_script="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/k8s-test-env.sh"
if ! _llmops_k8s_env=$(bash "$_llmops_k8s_script" start); then
  echo "kubernetes: could not start the test control plane" >&2
  unset _llmops_k8s_env
  return 1
fi
eval "$_llmops_k8s_env"
unset _llmops_k8s_env
echo "kubernetes: test control plane in $LLMOPS_TEST_K8S_DIR, KUBECONFIG=$KUBECONFIG"

_llmops_k8s_stop() {
  bash "$_llmops_k8s_script" stop "$LLMOPS_TEST_K8S_DIR" || true
}
# Chain with an EXIT trap the caller may have set already.
_llmops_k8s_prev_trap=$(trap -p EXIT)
_llmops_k8s_prev_trap=${_llmops_k8s_prev_trap#trap -- }
_llmops_k8s_prev_trap=${_llmops_k8s_prev_trap% EXIT}
# shellcheck disable=SC2064
trap "_llmops_k8s_stop${_llmops_k8s_prev_trap:+; eval $_llmops_k8s_prev_trap}" EXIT
unset _llmops_k8s_prev_trap
