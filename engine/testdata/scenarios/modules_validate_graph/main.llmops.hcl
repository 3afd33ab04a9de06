resource "test_value" "src" {
  input = "s"
}

module "m" {
  source     = "./modules/m"
  for_each   = toset([test_value.src.id])
  in         = test_value.src.output
  depends_on = [test_value.src]
}

output "o" {
  value = module.m
}
