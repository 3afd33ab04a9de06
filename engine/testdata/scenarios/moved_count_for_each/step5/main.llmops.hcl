resource "test_value" "renamed" {
  name  = "x"
  input = "same"
}

moved {
  from = test_value.renamed["a"]
  to   = test_value.renamed
}
