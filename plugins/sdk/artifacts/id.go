package artifacts

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// ID names an artifact: "sha256:<64 lower-case hex>".
type ID string

// Prefix starts every artifact id.
const Prefix = "sha256:"

// ParseID checks s is an artifact id.
func ParseID(s string) (ID, error) {
	if !strings.HasPrefix(s, Prefix) {
		return "", fmt.Errorf("%q is not an artifact id: it must start with %q", s, Prefix)
	}
	h := s[len(Prefix):]
	if len(h) != 64 {
		return "", fmt.Errorf("%q is not an artifact id: want 64 hex digits after %q, got %d", s, Prefix, len(h))
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", fmt.Errorf("%q is not an artifact id: %q is not a lower-case hex digit", s, c)
		}
	}
	return ID(s), nil
}

// IDFromSum makes the id of a sha256 sum.
func IDFromSum(sum []byte) ID { return ID(Prefix + hex.EncodeToString(sum)) }

// Hex returns the hex digits of the id.
func (id ID) Hex() string { return strings.TrimPrefix(string(id), Prefix) }

func (id ID) String() string { return string(id) }

// Short returns the first 12 hex digits, for messages.
func (id ID) Short() string {
	h := id.Hex()
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}
