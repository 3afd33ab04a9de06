# A second file of the same configuration.
evaluation "quality" {
  model   = training_run.ft["large"].output_model
  command = ["python", "eval.py"]
}
