# A base model from a directory beside the configuration.
model "base" {
  source  = "file://base"
  license = "apache-2.0"
}

# The same from the Hugging Face hub, pinned to a revision.
model "hub" {
  source   = "hf://org/small-model"
  revision = "main"
}
