# -wait=false: the job is left running, recorded pending with its handle;
# its dependent waits for a later apply.
resource "test_value" "job" {
  name     = "job"
  input    = "trained"
  behavior = "pending:2"
}
resource "test_value" "eval" {
  name  = "eval"
  input = test_value.job.output
}
