# A change that forces a replacement of a protected object is refused.
resource "test_value" "a" {
  name             = "a"
  input            = "x"
  triggers_replace = "2"
  lifecycle {
    prevent_destroy = true
  }
}
