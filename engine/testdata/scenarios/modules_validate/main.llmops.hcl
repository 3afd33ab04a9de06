resource "test_value" "src" {
  input = "s"
}

module "m" {
  source   = "./modules/m"
  for_each = toset([test_value.src.id])
  in       = test_value.src.output
  count_of = "three"
}
