module "m" {
  source   = "./modules/m"
  for_each = { a = "1", b = "2" }
  value    = each.value
}
