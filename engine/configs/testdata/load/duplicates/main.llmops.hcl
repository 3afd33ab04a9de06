variable "x" {}
variable "x" {}

locals {
  a = 1
}

output "o" {
  value = 1
}
output "o" {
  value = 2
}

provider "local" {}
provider "local" {}

artifacts {
  path = "/a"
}
artifacts {
  path = "/b"
}

model "base" {
  source = "file://m"
}
model "base" {
  source = "file://n"
}

training_run "ft" {
  lifecycle {
    prevent_destroy = true
  }
  lifecycle {
    prevent_destroy = false
  }
  placement {
    candidates = [local]
  }
  placement {
    candidates = [local]
  }
}
