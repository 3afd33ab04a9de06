module "m" {
  source  = "./modules/m"
  tag     = "v2"
}
