variable "bad_type" {
  type = strang
}

variable "bad_default" {
  type    = number
  default = "many"
}

variable "validation_elsewhere" {
  default = 1
  validation {
    condition     = var.other > 0 && local.x
    error_message = "no."
  }
}

variable "validation_incomplete" {
  default = 1
  validation {
    condition = true
  }
}

variable "flags" {
  sensitive = "yes please"
  nullable  = maybe
}

variable "dynamic_default" {
  default = upper("x")
}
