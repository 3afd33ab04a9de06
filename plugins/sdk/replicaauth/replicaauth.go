package replicaauth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
)

// The replica's environment variable and the header the gateway sends.
const (
	TokenEnv    = "LLMOPS_REPLICA_TOKEN"
	TokenHeader = "X-LLMops-Replica-Token"
)

// NewToken returns a new random replica token (32 bytes, hex).
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// Require wraps a serving program's handler: when token is set (the
// program's $LLMOPS_REPLICA_TOKEN), a request must carry it in
// TokenHeader, compared in constant time, or it gets 401 with an
// OpenAI-style error; GET and HEAD requests of the health paths need none.
// An empty token (the program started by hand) requires nothing.
func Require(token string, healthPaths []string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && slices.Contains(healthPaths, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(TokenHeader)), want) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
				"message": "This replica answers its deployment's gateway only: call the deployment's endpoint.",
				"type":    "invalid_request_error", "code": "invalid_replica_token", "param": nil,
			}})
			return
		}
		next.ServeHTTP(w, r)
	})
}
