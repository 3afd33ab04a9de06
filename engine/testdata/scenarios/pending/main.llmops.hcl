# A long operation: apply waits for it, then its dependent.
resource "test_value" "job" {
  name     = "job"
  input    = "trained"
  behavior = "pending:3"
}
resource "test_value" "eval" {
  name  = "eval"
  input = test_value.job.output
}
