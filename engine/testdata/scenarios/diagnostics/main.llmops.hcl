# A provider's diagnostic points at the attribute; a misspelt type gets a
# suggestion.
resource "test_value" "a" {
  name = "a"
  input = {
    nested = "ok"
  }
}
resource "test_value" "b" {
  name  = "b"
  input = "invalid"
}
