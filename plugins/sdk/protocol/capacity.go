package protocol

import "strings"

// CapacityRefusedPrefix starts the summary of an error by which a provider
// says, when asked to create an object, that it cannot run it now for
// lack of capacity or quota (a cloud's InsufficientInstanceCapacity or
// ResourceLimitExceeded, a full partition): nothing was created. For an
// object with a placement block the engine then places it on its next
// candidate instead of failing. It travels in the summary, so it needs
// nothing of the wire protocol.
const CapacityRefusedPrefix = "Capacity refused: "

// CapacityRefused returns the error diagnostic of a refusal for lack of
// capacity; summary says what was refused, detail why and what to do.
func CapacityRefused(summary, detail string) Diagnostic {
	return Diagnostic{Severity: Error, Summary: CapacityRefusedPrefix + summary, Detail: detail}
}

// IsCapacityRefused reports whether a diagnostic summary is a refusal for
// lack of capacity (see CapacityRefusedPrefix).
func IsCapacityRefused(summary string) bool {
	return strings.HasPrefix(summary, CapacityRefusedPrefix)
}

// CapacityError is a capacity refusal carried as a Go error (what
// Diagnostics.Err returns for one), so that code between the provider's
// cloud call and its response, such as the serving package's rollout,
// keeps it a refusal: FromError turns it back into CapacityRefused.
type CapacityError struct {
	Summary string // without CapacityRefusedPrefix
	Detail  string
}

func (e *CapacityError) Error() string {
	if e.Detail == "" {
		return CapacityRefusedPrefix + e.Summary
	}
	return CapacityRefusedPrefix + e.Summary + ": " + e.Detail
}
