# The retraining loop: the deployment serves the model trained on a
# dataset made from its own traffic. deployment.support.traffic reads the
# prior state and orders nothing, so this is not a cycle. On the first
# apply the deployment is not in the state and waiting for it would be a
# cycle: the reference is null (with a warning) and coalesce starts from a
# file.
resource "test_value" "feedback" {
  name  = "feedback"
  input = coalesce(deployment.support.traffic, "file://seed.jsonl")
}

resource "test_value" "ft" {
  name  = "ft"
  input = "trained-on:${test_value.feedback.output}"
}

deployment "support" {
  provider = test
  name  = "support"
  input = test_value.ft.output
}

# Outside the loop, a reference to a deployment not in the state yet
# waits for it (it reads the new deployment's traffic).
resource "test_value" "probe" {
  name  = "probe"
  input = deployment.support.traffic
}
