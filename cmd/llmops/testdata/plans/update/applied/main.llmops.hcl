resource "null_value" "cfg" {
  input = {
    learning_rate = 0.0002
    epochs        = 3
    tags          = { team = "search", stage = "dev" }
  }
}

resource "null_value" "same" {
  input = "unchanged"
}
