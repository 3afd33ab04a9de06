variable "required" {}

provider "local" {}

resource "null_value" "r" {
  provider = null.other
}
