# Train, evaluate and gate on a Slurm cluster; import the base model locally.
#
#   model "base"          imported by the local provider (it runs anywhere)
#   dataset "corpus"      cleaned by a Slurm job (transform), split 80/20
#   training_run "ft"     a Slurm job with one GPU, retried after preemption
#                         or a node failure, resuming from its checkpoint
#   evaluation "quality"  a Slurm job, with a gate on its result
#
# The defaults point at the test cluster of scripts/slurm-test-env.sh; see
# README.md for a real cluster.

variable "slurm_url" {
  type    = string
  default = "http://127.0.0.1:16820"
}

variable "slurm_user" {
  type    = string
  default = "slurm"
}

variable "slurm_token_file" {
  type    = string
  default = "/tmp/llmops-slurm-test/jwt"
}

variable "shared_dir" {
  type        = string
  default     = "/tmp/llmops-slurm-test/shared"
  description = "A directory this host and every compute node see at the same path."
}

variable "partition" {
  type    = string
  default = "debug"
}

variable "min_coverage" {
  type    = number
  default = 0.5
}

provider "slurm" {
  url        = var.slurm_url
  user       = var.slurm_user
  token_file = var.slurm_token_file
  shared_dir = var.shared_dir
  partition  = var.partition
}

model "base" {
  source = "file://base"
}

dataset "corpus" {
  provider = slurm
  source   = "file://data/corpus.jsonl"
  split    = { train = 0.8, eval = 0.2 }
  transform {
    command = ["bash", "jobs/clean.sh"]
  }
}

training_run "ft" {
  provider   = slurm
  base_model = model.base.id
  dataset    = dataset.corpus.id
  command    = ["bash", "jobs/train.sh"]
  hyperparameters = {
    epochs    = 3
    min_count = 1
  }
  resources {
    gpus         = 1
    gpu_type     = "any"
    cpus         = 1
    memory_gb    = 1
    max_duration = "10m"
  }
  retry {
    attempts = 3
    on       = ["preempted", "node_fail"]
  }
}

evaluation "quality" {
  provider = slurm
  model    = training_run.ft.output_model
  dataset  = dataset.corpus.id # its eval split
  command  = ["bash", "jobs/eval.sh"]
  gate {
    metric = "coverage"
    min    = var.min_coverage
  }
}

output "model" {
  value = training_run.ft.output_model
}

output "slurm_job" {
  value = training_run.ft.job_id
}

output "results" {
  value = evaluation.quality.results
}
