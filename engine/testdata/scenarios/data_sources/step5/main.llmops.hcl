data "llmops_state" "both" {
  path = "platform"
  backend "postgres" {
    schema = "platform"
  }
}

data "llmops_state" "absent" {
  path      = "platform"
  workspace = "prod"
}
