# Hidden files and files without the .llmops.hcl suffix are not loaded.
prompt "greeting" {
  template = "Hello"
}
