# Another configuration: its outputs are read below with llmops_state.
resource "test_value" "endpoint" {
  name  = "platform-endpoint"
  input = "https://platform.example/${llmops.workspace}"
}

output "endpoint" {
  value = test_value.endpoint.output
}

output "regions" {
  value = ["eu", "us"]
}
