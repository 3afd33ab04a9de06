llmops {
  backend "s3" {
    bucket = "team-state"
  }
}

resource "null_value" "a" {
  input = 1
}
