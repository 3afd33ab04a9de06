# A valid file beside a broken one: nothing is decoded while any file
# does not parse.
model "m" {
  source = "file://m"
}
