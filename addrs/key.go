package addrs

import (
	"strconv"
)

// InstanceKey is the key of one instance of a resource: NoKey, an IntKey
// (count) or a StringKey (for_each).
type InstanceKey interface {
	instanceKey()
	String() string
}

type noKey struct{}

func (noKey) instanceKey()   {}
func (noKey) String() string { return "" }

// NoKey is the key of a resource that has neither count nor for_each.
var NoKey InstanceKey = noKey{}

// IntKey is a count index.
type IntKey int

func (IntKey) instanceKey()     {}
func (k IntKey) String() string { return "[" + strconv.Itoa(int(k)) + "]" }

// StringKey is a for_each key.
type StringKey string

func (StringKey) instanceKey()     {}
func (k StringKey) String() string { return "[" + strconv.Quote(string(k)) + "]" }

// KeyLess orders keys: NoKey first, then ints numerically, then strings.
func KeyLess(a, b InstanceKey) bool {
	ra, rb := keyRank(a), keyRank(b)
	if ra != rb {
		return ra < rb
	}
	switch a := a.(type) {
	case IntKey:
		return a < b.(IntKey)
	case StringKey:
		return a < b.(StringKey)
	}
	return false
}

func keyRank(k InstanceKey) int {
	switch k.(type) {
	case IntKey:
		return 1
	case StringKey:
		return 2
	}
	return 0
}
