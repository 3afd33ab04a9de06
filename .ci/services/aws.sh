# shellcheck shell=bash
# Sourced by .ci/run before `make test`: starts the AWS emulator (moto: S3
# for the s3:// artifact store tests, and the AWS provider's services) on
# loopback with scripts/aws-test-env.sh, exports the environment the tests
# read (LLMOPS_TEST_AWS_ENDPOINT_URL, _REGION, _ACCESS_KEY_ID,
# _SECRET_ACCESS_KEY, _DIR), and stops it when the CI shell exits.
#
# It is sourced: it changes no shell option, never exits the caller on
# success, and fails (return 1, which set -e in the caller turns into a
# failed run) when the service cannot be started.

_llmops_aws_script="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/aws-test-env.sh"
if ! _llmops_aws_env=$(bash "$_llmops_aws_script" start); then
  echo "aws: could not start the AWS emulator" >&2
  unset _llmops_aws_env
  return 1
fi
eval "$_llmops_aws_env"
unset _llmops_aws_env
echo "aws: the AWS emulator in $LLMOPS_TEST_AWS_DIR, at $LLMOPS_TEST_AWS_ENDPOINT_URL"

_llmops_aws_stop() {
  bash "$_llmops_aws_script" stop "$LLMOPS_TEST_AWS_DIR" || true
}
# Chain with an EXIT trap the caller (or another service) may have set already.
_llmops_aws_prev_trap=$(trap -p EXIT)
_llmops_aws_prev_trap=${_llmops_aws_prev_trap#trap -- }
_llmops_aws_prev_trap=${_llmops_aws_prev_trap% EXIT}
# shellcheck disable=SC2064
trap "_llmops_aws_stop${_llmops_aws_prev_trap:+; eval $_llmops_aws_prev_trap}" EXIT
unset _llmops_aws_prev_trap
