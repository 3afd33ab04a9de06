training_run "ft" {
  base_model = model.base.id
  dataset    = dataset.tickets.id
  method     = "lora"
  command    = ["torchrun", "--nproc_per_node=1", "train.py"]
  hyperparameters = {
    learning_rate = 0.0002
    epochs        = 2
  }

  resources {
    gpus         = 1
    max_duration = "6h"
  }
}
