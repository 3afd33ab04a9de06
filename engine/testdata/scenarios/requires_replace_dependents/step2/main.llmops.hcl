# A replacement's new id is unknown while planning: the dependent plans an
# update with (known after apply), then gets the new id.
resource "test_value" "a" {
  name             = "a"
  input            = "x"
  triggers_replace = "2"
}
resource "test_value" "b" {
  name  = "b"
  input = test_value.a.id
}
