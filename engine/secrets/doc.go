// Package secrets keeps sensitive values out of files in clear: it loads
// the state key (32 random bytes, base64, from LLMOPS_STATE_KEY or the
// file named by LLMOPS_STATE_KEY_FILE) and seals and opens values with
// AES-256-GCM. Sealed text names the key it was sealed with, so a wrong
// or rotated key is reported as such.
//
// It knows nothing of cty or state: bytes in, text out.
package secrets
