resource "null_value" "both" {
  count    = 2
  for_each = { a = 1 }
  input    = 1
}

resource "null_value" "deps" {
  depends_on = ["null_value.both", null_value.both]
  input      = 1
}

resource "null_value" "lc" {
  lifecycle {
    prevent_destroy = true
    bogus           = 1
  }
}

output "o" {
  value      = 1
  depends_on = "not a list"
}

output "missing_value" {
}
