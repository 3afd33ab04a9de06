module "new" {
  source   = "./modules/m"
  for_each = toset(["en", "de"])
  lang     = each.key
}

moved {
  from = module.old
  to   = module.new
}
