resource "test_value" "a" {
  name             = "a"
  input            = "x"
  triggers_replace = "2"
  lifecycle {
    create_before_destroy = true
  }
}
