# b is on two rings (a <-> b and b <-> c); there is no edge c -> a, so no
# message may say "a -> b -> c -> a".
resource "null_value" "a" {
  input = null_value.b.output
}

resource "null_value" "b" {
  input = [null_value.a.output, null_value.c.output]
}

resource "null_value" "c" {
  input = null_value.b.output
}
