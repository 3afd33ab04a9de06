package scrub

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// digestPrefix starts the text that stands for a secret in a record.
const digestPrefix = Mask + " sha256:"

// Digest returns what stands for the secret v in a record a provider
// keeps on disk: "(sensitive) sha256:<digest of salt and v>". Equal
// values give equal digests under one salt, so a record can still tell
// whether a configuration changed without holding the value. Use a random
// salt per record.
func Digest(salt, v string) string {
	sum := sha256.Sum256([]byte(salt + "\x00" + v))
	return digestPrefix + hex.EncodeToString(sum[:16])
}

// IsDigest reports whether v is a Digest.
func IsDigest(v string) bool { return strings.HasPrefix(v, digestPrefix) }

// DigestIfSecret returns Digest(salt, v) when v holds a secret of s (or is
// a digest already), else v.
func (s *Set) DigestIfSecret(salt, v string) string {
	if IsDigest(v) || !s.Contains(v) {
		return v
	}
	return Digest(salt, v)
}
