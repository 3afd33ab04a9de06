evaluation "quality" {
  model   = training_run.ft.output_model
  dataset = dataset.tickets.id # its eval split
  command = ["python3", "eval.py"]

  gate {
    metric = "accuracy"
    min    = 0.8
  }
}
