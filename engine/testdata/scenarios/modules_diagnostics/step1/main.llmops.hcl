module "m" {
  source = "./modules/m"
  count  = 2
  size   = "big"
  lang   = "english"
}

resource "test_value" "uses" {
  input = module.m[0].nope
}
