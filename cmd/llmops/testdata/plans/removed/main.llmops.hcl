# Destroys, each with why: a block removed, a count lowered, a for_each key
# gone.
resource "null_value" "worker" {
  count = 1
  input = "w${count.index}"
}

resource "null_value" "per_team" {
  for_each = toset(["search"])
  input    = each.key
}
