# An update in place flows to the dependent.
resource "test_value" "a" {
  name  = "a"
  input = "bonjour"
}
resource "test_value" "b" {
  name  = "b"
  input = { from = test_value.a.output }
}
