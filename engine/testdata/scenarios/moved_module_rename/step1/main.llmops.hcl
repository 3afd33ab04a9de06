module "old" {
  source   = "./modules/m"
  for_each = toset(["en", "de"])
  lang     = each.key
}
