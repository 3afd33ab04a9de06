# A job that takes a minute: what a long operation looks like in a plan.
resource "null_job" "wait" {
  duration = "1m"
}
