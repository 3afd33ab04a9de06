provider "kubernetes" {
  kubeconfig = "~/.kube/config"
  context    = "gpu-prod"
  namespace  = "llm"
  image      = "ghcr.io/acme/train:1.4"
}

# A two-node fine-tune as an Indexed Job, queued through Kueue.
training_run "ft" {
  provider   = kubernetes
  base_model = model.base.id
  dataset    = dataset.tickets.id
  command    = ["torchrun", "train.py"]

  resources {
    gpus         = 8
    gpu_type     = "H100"
    nodes        = 2
    max_duration = "12h"
  }

  kubernetes {
    queue         = "team-a"
    queue_timeout = "30m"
  }
}
