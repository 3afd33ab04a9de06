package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Reason classifies a failed operation.
type Reason string

// The reasons an operation fails for, each with its advice (see Advice).
const (
	NotFound      Reason = "not found"
	NoCredentials Reason = "no credentials"
	Denied        Reason = "access denied"
	NoStore       Reason = "store does not exist"
	Unreachable   Reason = "unreachable"
	Corrupt       Reason = "corrupt"
	Canceled      Reason = "canceled"
	Failed        Reason = "failed"
)

// Error is a failed operation on a remote store.
type Error struct {
	// URL is the store's (no credentials).
	URL string
	// Op is what was attempted, e.g. "push sha256:ab12...".
	Op     string
	Reason Reason
	// Detail is a short cause in the store's words (an error code, an HTTP
	// status), never a credential.
	Detail string
	// Hint, when set, replaces the reason's usual advice.
	Hint string
	// Err is the underlying error, for errors.Is/As; Error() does not
	// print it.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s", e.URL, e.Op, e.Reason)
	if e.Detail != "" {
		fmt.Fprintf(&b, " (%s)", e.Detail)
	}
	if h := e.Advice(); h != "" {
		b.WriteString(". ")
		b.WriteString(h)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Advice says what to do about the error.
func (e *Error) Advice() string {
	if e.Hint != "" {
		return e.Hint
	}
	switch e.Reason {
	case NoCredentials:
		return "Give credentials the standard way: for s3://, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or `profile` in the artifacts block, or an instance role; for oci://, `docker login` (or `oras login`) to the registry"
	case Denied:
		return "The credentials in use may not do this: check the bucket or repository policy and which identity is used (AWS_PROFILE, `profile`, the docker config)"
	case NoStore:
		return "Create it first (for s3://, the bucket: aws s3 mb s3://NAME), or fix artifacts.url"
	case Unreachable:
		return "Check the network, artifacts.url and artifacts.endpoint (or AWS_ENDPOINT_URL); cached artifacts stay usable offline"
	case Corrupt:
		return "The remote object does not match its digest: push it again from a machine that holds it (llmops artifacts push DIGEST), or remove it"
	}
	return ""
}

// Reason of err: an *Error's, Canceled for a canceled context, else "".
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Canceled
	}
	return ""
}

// IsNotFound reports whether err says the object is not stored.
func IsNotFound(err error) bool { return ReasonOf(err) == NotFound }
