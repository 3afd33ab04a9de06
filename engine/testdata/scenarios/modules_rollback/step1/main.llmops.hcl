module "m" {
  source  = "./modules/m"
  tag     = "v1"
}
