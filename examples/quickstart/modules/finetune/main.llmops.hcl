# A fine-tune with its gated evaluation: the module the sweep calls once
# per learning rate. Its variables are its inputs, its outputs what the
# caller reads (module.sweep["fast"].accuracy).

variable "base_model" {
  type        = string
  description = "The base model's artifact id."
}

variable "base_digest" {
  type        = string
  description = "The digest the base model must have (from data \"model\"): a changed base is refused, not silently trained on."
}

variable "baseline_path" {
  type        = string
  description = "Where the base model's files are, for the evaluation's baseline."
}

variable "dataset" {
  type = string
}

variable "learning_rate" {
  type = number
  validation {
    condition     = var.learning_rate > 0 && var.learning_rate < 1
    error_message = "learning_rate must be between 0 and 1."
  }
}

variable "run_name" {
  type = string
}

variable "min_accuracy" {
  type    = number
  default = 0.4
}

training_run "ft" {
  base_model = var.base_model
  dataset    = var.dataset
  method     = "full"
  # Jobs run in the root configuration's directory: the quickstart's
  # programs are one level up.
  command = ["go", "run", "../train"]
  hyperparameters = {
    learning_rate = var.learning_rate
    epochs        = 2
    batch_size    = 64
    seed          = 1
    run_name      = var.run_name
    base_digest   = var.base_digest
  }
  resources {
    gpus         = 0
    max_duration = "30m"
  }
}

evaluation "quality" {
  model   = training_run.ft.output_model
  dataset = var.dataset
  command = ["go", "run", "../eval", "-baseline", var.baseline_path]

  gate {
    metric = "accuracy"
    min    = var.min_accuracy
  }
}

output "model" {
  value = training_run.ft.output_model
}

output "accuracy" {
  value = evaluation.quality.results["accuracy"]
}
