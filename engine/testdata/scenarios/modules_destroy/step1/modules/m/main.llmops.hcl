variable "region" {}

resource "test_value" "r" {
  name  = "r-${var.region}"
  input = var.region
  lifecycle {
    prevent_destroy = var.region == "none"
  }
}
