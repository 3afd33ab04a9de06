# The configuration changed since the rollback: the pin is released and
# the configuration applies.
resource "test_value" "a" {
  name  = "a"
  input = "v3"
}
