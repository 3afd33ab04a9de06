# Replacements: one destroyed first, one created first; the attribute that
# forces it is marked.
resource "null_value" "base" {
  input            = "v1"
  triggers_replace = "model-b"
}

resource "null_value" "blue_green" {
  input            = "v1"
  triggers_replace = "model-b"
  lifecycle {
    create_before_destroy = true
  }
}
