modle "x" {}

module "net" {
  source = "./net"
}

terraform {}
