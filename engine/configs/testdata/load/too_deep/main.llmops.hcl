locals {
  fine = [[[1]]]
}
