resource "null_value" "base" {
  input            = "v1"
  triggers_replace = "model-a"
}

resource "null_value" "blue_green" {
  input            = "v1"
  triggers_replace = "model-a"
  lifecycle {
    create_before_destroy = true
  }
}
