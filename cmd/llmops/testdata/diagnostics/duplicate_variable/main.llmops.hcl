variable "lr" {
  default = 0.0002
}

variable "lr" {
  default = 0.001
}
