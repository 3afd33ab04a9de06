// Package echo is a small example provider: echo_message stores a text and
// reports its length and upper-case form. It shows every part of the SDK
// a provider author needs: a schema with required, optional, computed and
// force-new attributes, validation with attribute paths, a plan that knows
// computed values in advance (ModifyPlan), CRUD functions, logging, and a
// long operation (`delay`) reported as pending and polled through Read.
//
// The boundary: it imports only the public SDK (package sdk); main.go
// serves it and echo_test.go runs the conformance suite on it.
package echo
