locals {
  base = "x"
}
resource "test_value" "a" {
  input = local.base
}
resource "test_value" "b" {
  input      = test_value.a.output
  depends_on = [test_value.a]
}
output "b" {
  value = test_value.b.id
}
