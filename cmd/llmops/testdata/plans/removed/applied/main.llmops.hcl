resource "null_value" "worker" {
  count = 3
  input = "w${count.index}"
}

resource "null_value" "old" {
  input = "legacy"
}

resource "null_value" "per_team" {
  for_each = toset(["search", "support"])
  input    = each.key
}
