dataset "tickets" {
  source = "file://data/tickets.jsonl"
  split  = { train = 0.9, eval = 0.1 }
  seed   = 1

  # Optional: a preprocessing job (reads LLMOPS_INPUT_PATH, writes
  # LLMOPS_OUTPUT_DIR/data.jsonl).
  transform {
    command = ["python3", "clean.py"]
  }
}
