// Command gen writes docs/reference/ from the schemas (`make docs`). Run it
// from the repository root.
//
// The boundary: a thin command over package refdocs (which owns the
// pages); it only writes what refdocs.Generate returns.
package main
