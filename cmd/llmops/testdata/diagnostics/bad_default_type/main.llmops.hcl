variable "epochs" {
  type    = number
  default = "three"
}
