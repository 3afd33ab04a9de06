# Everything the loader decodes, without a mistake.
variable "epochs" {
  type        = number
  default     = 3
  description = "Training epochs."
  validation {
    condition     = var.epochs > 0
    error_message = "epochs must be positive."
  }
}

variable "api_key" {
  type      = string
  sensitive = true
  nullable  = false
}

variable "settings" {
  type    = object({ lr = optional(number, 0.0002), name = string })
  default = { name = "ft" }
}

variable "anything" {}

locals {
  run_name = "support-${var.epochs}"
  sizes    = { small = 1, large = 4 }
}

provider "local" {
  alias     = "gpu"
  gpu_count = 2
}

provider "slurm" {
  url = "http://127.0.0.1:6820"
}

artifacts {
  path = "/srv/artifacts"
}

model "base" {
  source = "file://base"
}

dataset "tickets" {
  provider = local.gpu
  source   = "file://data/tickets.jsonl"
  split    = { train = 0.9, eval = 0.1 }
}

training_run "ft" {
  for_each   = local.sizes
  base_model = model.base.id
  dataset    = dataset.tickets.id
  command    = ["python", "train.py"]
  depends_on = [model.base, dataset.tickets]

  lifecycle {
    prevent_destroy       = true
    create_before_destroy = var.epochs > 2
    ignore_changes        = [command]
  }

  placement {
    candidates      = [slurm, local.gpu]
    strategy        = "cheapest"
    max_hourly_cost = 4
  }

  resources {
    gpus = 1
  }
}

resource "null_value" "copies" {
  count = 2
  input = count.index
}

output "model" {
  value       = training_run.ft["small"].output_model
  description = "The small model."
  depends_on  = [null_value.copies]
}

output "key" {
  value     = var.api_key
  sensitive = true
}
