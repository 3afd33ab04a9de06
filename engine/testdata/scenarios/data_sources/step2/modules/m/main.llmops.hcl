variable "region" {}

data "test_lookup" "r" {
  key = var.region
}

resource "test_value" "per_region" {
  name  = "per-${var.region}"
  input = data.test_lookup.r.value
}
