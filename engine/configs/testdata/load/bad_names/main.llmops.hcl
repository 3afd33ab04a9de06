variable "1epochs" {}

output "has space" {
  value = 1
}

provider "bad type" {}

provider "local" {
  alias = "no good"
}

resource "null_value" "9lives" {
  input = 1
}

resource "bad type" "x" {}

resource "nounderscore" "x" {}

resource "model" "base" {
  source = "file://m"
}
