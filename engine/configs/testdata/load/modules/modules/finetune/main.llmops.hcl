variable "base" {
  type = string
}

variable "lr" {
  type    = number
  default = 0.001
}

training_run "ft" {
  base_model = var.base
  provider   = slurm.gpu
}

module "inner" {
  source = "../inner"
  name   = "x"
}

output "endpoint" {
  value = training_run.ft.id
}
