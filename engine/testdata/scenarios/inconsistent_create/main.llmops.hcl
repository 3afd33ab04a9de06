# Apply returns an output other than the planned one: the object made is
# recorded (tainted, to be replaced), and the provider is named at fault.
resource "test_value" "a" {
  name     = "a"
  input    = "x"
  behavior = "apply-changes-output"
}
resource "test_value" "b" {
  name  = "b"
  input = test_value.a.output
}
