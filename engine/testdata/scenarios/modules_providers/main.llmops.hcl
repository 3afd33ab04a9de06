provider "test" {
  alias = "alt"
  label = "alt"
}

module "m" {
  source    = "./modules/m"
  count     = 2
  index     = count.index
  providers = { test = test.alt }
}

resource "test_value" "plain" {
  name  = "plain"
  input = module.m[1].value
}
