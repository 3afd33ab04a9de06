provider "slurm" {
  url        = "http://slurm-rest.example:6820"
  token_file = "/home/me/.slurm/jwt"
  shared_dir = "/shared/llmops"
  partition  = "gpu"
}

# Send one training run to the cluster; the rest stays local.
training_run "big" {
  provider   = slurm
  base_model = model.base.id
  command    = ["torchrun", "train.py"]

  resources {
    gpus  = 8
    nodes = 2
  }
}
