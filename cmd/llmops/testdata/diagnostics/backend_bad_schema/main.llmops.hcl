llmops {
  backend "postgres" {
    schema   = "Support-Bot"
    conn_str = "host=db.internal user=llmops"
  }
}

resource "null_value" "a" {
  input = 1
}
