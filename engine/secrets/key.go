package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Environment variables that configure the state key.
const (
	EnvKey     = "LLMOPS_STATE_KEY"
	EnvKeyFile = "LLMOPS_STATE_KEY_FILE"
)

// prefix of sealed text: sealed:v1:<key id>:<base64 nonce+ciphertext>.
const prefix = "sealed:v1:"

// ErrNoKey is returned when sealing or opening needs a key and none is
// configured.
var ErrNoKey = errors.New("no state key is configured: set " + EnvKey + " to 32 random bytes in base64 (for example `" + EnvKey + "=$(head -c32 /dev/urandom | base64)`), or " + EnvKeyFile + " to a file holding them; keep the key safe: without it the sensitive values in the state cannot be read")

// Key seals and opens values.
type Key struct {
	id   string
	aead cipher.AEAD
}

// ID names the key (a hash prefix, safe to show).
func (k *Key) ID() string { return k.id }

// NewKey makes a key from 32 bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != 32 {
		return nil, fmt.Errorf("a state key is 32 bytes; this one is %d", len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	return &Key{id: hex.EncodeToString(sum[:4]), aead: aead}, nil
}

// ParseKey decodes a base64 key.
func ParseKey(text string) (*Key, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("the state key is not valid base64: %w", err)
	}
	return NewKey(raw)
}

// Generate returns a new random key in base64.
func Generate() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}

// FromEnv loads the configured key: LLMOPS_STATE_KEY, else the file named
// by LLMOPS_STATE_KEY_FILE. It returns nil (and no error) when neither is
// set.
func FromEnv() (*Key, error) {
	if v := os.Getenv(EnvKey); v != "" {
		k, err := ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvKey, err)
		}
		return k, nil
	}
	if p := os.Getenv(EnvKeyFile); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvKeyFile, err)
		}
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", EnvKeyFile, p, err)
		}
		return k, nil
	}
	return nil, nil
}

// Seal encrypts plain and returns sealed text.
func (k *Key) Seal(plain []byte) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := k.aead.Seal(nonce, nonce, plain, []byte(k.id))
	return prefix + k.id + ":" + base64.StdEncoding.EncodeToString(ct), nil
}

// IsSealed reports whether text is sealed text.
func IsSealed(text string) bool { return strings.HasPrefix(text, prefix) }

// SealedKeyID returns the id of the key that sealed text.
func SealedKeyID(text string) string {
	rest := strings.TrimPrefix(text, prefix)
	id, _, _ := strings.Cut(rest, ":")
	return id
}

// Open decrypts sealed text.
func (k *Key) Open(text string) ([]byte, error) {
	if !IsSealed(text) {
		return nil, errors.New("not sealed text")
	}
	rest := strings.TrimPrefix(text, prefix)
	id, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, errors.New("malformed sealed text")
	}
	if id != k.id {
		return nil, fmt.Errorf("the value was sealed with key %s, but the configured key is %s: set %s to the key used when it was written (or rotate with `llmops state rotate-key`)", id, k.id, EnvKey)
	}
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("malformed sealed text: %w", err)
	}
	ns := k.aead.NonceSize()
	if len(ct) < ns {
		return nil, errors.New("malformed sealed text")
	}
	plain, err := k.aead.Open(nil, ct[:ns], ct[ns:], []byte(k.id))
	if err != nil {
		return nil, errors.New("the sealed value does not open with the configured key (wrong key, or the state was tampered with)")
	}
	return plain, nil
}
