# validate reports what is certain without state: b's input is unknown
# (it depends on a), c's is refused by the provider.
resource "test_value" "a" {
  input = "x"
}
resource "test_value" "b" {
  input = test_value.a.output
}
resource "test_value" "c" {
  input = "invalid"
}
