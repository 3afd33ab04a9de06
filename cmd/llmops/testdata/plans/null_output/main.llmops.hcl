# An output whose value is null (an unset attribute) is never recorded: the
# plan shows no change for it, not "~ hp = null -> null".
resource "null_value" "x" {
  input = "b"
}

output "hp" {
  value = null_value.x.triggers_replace
}

output "out" {
  value = null_value.x.output
}
