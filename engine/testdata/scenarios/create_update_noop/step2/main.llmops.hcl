# Create two objects, the second referring to the first.
resource "test_value" "a" {
  name  = "a"
  input = "hello"
}
resource "test_value" "b" {
  name  = "b"
  input = { from = test_value.a.output }
}
