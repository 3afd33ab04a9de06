variable "in" {}

variable "count_of" {
  type = number
}

resource "test_value" "x" {
  input = "${var.in}"
  fail  = "not-a-bool"
}
