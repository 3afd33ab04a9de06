resource "test_value" "renamed" {
  for_each = toset(["a"])
  name     = "x"
  input    = "same"
}

moved {
  from = test_value.x
  to   = test_value.renamed
}
