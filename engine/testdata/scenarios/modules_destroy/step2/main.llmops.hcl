resource "test_value" "src" {
  name  = "src"
  input = "eu"
}

module "m" {
  source   = "./modules/m"
  for_each = toset([test_value.src.output, "us"])
  region   = each.key
}
