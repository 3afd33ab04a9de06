module "m" {
  source = "./modules/m"
  count  = 2
  size   = "big"
  lang   = "english"
}
