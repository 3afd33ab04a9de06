# shellcheck shell=bash
# Sourced by .ci/run before `make test`: starts an OCI registry (Debian's
# docker-registry, which .ci/run installs) on loopback with
# scripts/oci-test-env.sh for the oci:// artifact store tests, exports the
# environment they read (LLMOPS_TEST_OCI_REGISTRY, _DIR), and stops it when
# the CI shell exits.
#
# It is sourced: it changes no shell option, never exits the caller on
# success, and fails (return 1, which set -e in the caller turns into a
# failed run) when the service cannot be started.

_llmops_oci_script="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/oci-test-env.sh"
if ! _llmops_oci_env=$(bash "$_llmops_oci_script" start); then
  echo "oci: could not start the OCI registry" >&2
  unset _llmops_oci_env
  return 1
fi
eval "$_llmops_oci_env"
unset _llmops_oci_env
echo "oci: the OCI registry in $LLMOPS_TEST_OCI_DIR, at $LLMOPS_TEST_OCI_REGISTRY"

_llmops_oci_stop() {
  bash "$_llmops_oci_script" stop "$LLMOPS_TEST_OCI_DIR" || true
}
# Chain with an EXIT trap the caller (or another service) may have set already.
_llmops_oci_prev_trap=$(trap -p EXIT)
_llmops_oci_prev_trap=${_llmops_oci_prev_trap#trap -- }
_llmops_oci_prev_trap=${_llmops_oci_prev_trap% EXIT}
# shellcheck disable=SC2064
trap "_llmops_oci_stop${_llmops_oci_prev_trap:+; eval $_llmops_oci_prev_trap}" EXIT
unset _llmops_oci_prev_trap
