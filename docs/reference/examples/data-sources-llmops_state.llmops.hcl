# The outputs of another configuration (its directory's state).
data "llmops_state" "platform" {
  path = "../platform"
}

resource "null_value" "endpoint" {
  input = data.llmops_state.platform.outputs.endpoint
}
