# A long operation that fails: reported once, as the job's failure, under
# the address and block; recorded tainted.
resource "test_value" "job" {
  name     = "job"
  input    = "trained"
  behavior = "pending-fail"
}
