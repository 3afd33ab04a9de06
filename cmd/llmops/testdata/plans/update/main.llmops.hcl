# An update in place: one nested value changes, the rest is hidden.
resource "null_value" "cfg" {
  input = {
    learning_rate = 0.0001
    epochs        = 3
    tags          = { team = "search", stage = "prod" }
  }
}

resource "null_value" "same" {
  input = "unchanged"
}
