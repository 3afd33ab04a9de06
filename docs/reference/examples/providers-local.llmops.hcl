provider "local" {
  allowed_roots   = ["/data/models"]
  env_passthrough = ["WANDB_*"]
}
