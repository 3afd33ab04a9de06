resource "test_value" "a" {
  name             = "a"
  input            = "x"
  triggers_replace = "1"
  lifecycle {
    prevent_destroy = true
  }
}
