modle "base" {
  source = "file://models/base"
}
