// Package docscheck holds a repository-wide test: every document that a
// source file, script or document of the repository cites (a name ending
// in .md) exists in the repository. The design of record is
// docs/architecture.md; nothing may point at a document kept elsewhere.
//
// It has no code: only the test.
package docscheck
