# shellcheck shell=bash
# Sourced by .ci/run before `make test`: starts a throwaway two-node Slurm
# (munged, slurmctld, two slurmd, slurmrestd with JWT, two fake GPUs) on loopback
# with scripts/slurm-test-env.sh, exports the environment the Slurm tests read
# (LLMOPS_TEST_SLURM_URL, _USER, _TOKEN_FILE, _JWT, _SHARED_DIR, _PARTITION,
# _URGENT_PARTITION, _MULTI_PARTITION, _GPUS, _CONF, _DIR; see docs/slurm.md), and stops what
# it started when the CI shell exits.
#
# It is sourced: it changes no shell option, never exits the caller on
# success, and fails (return 1, which set -e in the caller turns into a
# failed run) when Slurm cannot be started.

_llmops_slurm_script="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/slurm-test-env.sh"
if ! _llmops_slurm_env=$(bash "$_llmops_slurm_script" start); then
  echo "slurm: could not start the test cluster" >&2
  unset _llmops_slurm_env
  return 1
fi
eval "$_llmops_slurm_env"
unset _llmops_slurm_env
echo "slurm: test cluster in $LLMOPS_TEST_SLURM_DIR, REST at $LLMOPS_TEST_SLURM_URL"

_llmops_slurm_stop() {
  bash "$_llmops_slurm_script" stop "$LLMOPS_TEST_SLURM_DIR" || true
}
# Chain with an EXIT trap the caller may have set already.
_llmops_slurm_prev_trap=$(trap -p EXIT)
_llmops_slurm_prev_trap=${_llmops_slurm_prev_trap#trap -- }
_llmops_slurm_prev_trap=${_llmops_slurm_prev_trap% EXIT}
# shellcheck disable=SC2064
trap "_llmops_slurm_stop${_llmops_slurm_prev_trap:+; eval $_llmops_slurm_prev_trap}" EXIT
unset _llmops_slurm_prev_trap
