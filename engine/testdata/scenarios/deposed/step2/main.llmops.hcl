# The replacement is made, the old object cannot be destroyed: it stays
# recorded as deposed, and the next apply destroys it.
resource "test_value" "a" {
  name             = "a"
  input            = "x"
  triggers_replace = "2"
  behavior         = "fail-destroy-once"
  lifecycle {
    create_before_destroy = true
  }
}
