package gateway

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"slices"
)

// Replica tokens: a replica listens on a port any local user (or, on a
// cluster, any user of the network) can reach; its port shows in `ps` and
// in the gateway's metrics. So the gateway authenticates to each replica
// with a secret of its own: the provider starts the serving command with
// ReplicaTokenEnv in its environment, the gateway sends it in the
// ReplicaTokenHeader of every request it forwards, and the serving program
// answers 401 to a request without it, except on its health path (which
// the provider checks before routing, without a token). Every serving
// program llmops ships does so (RequireReplicaToken); a user's own serving
// command should too.
const (
	ReplicaTokenEnv    = "LLMOPS_REPLICA_TOKEN"
	ReplicaTokenHeader = "X-LLMops-Replica-Token"
)

// NewReplicaToken returns a new random replica token (32 bytes, hex).
func NewReplicaToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// RequireReplicaToken wraps a serving program's handler: when token is set
// (the program's $LLMOPS_REPLICA_TOKEN), a request must carry it in
// ReplicaTokenHeader, compared in constant time, or it gets 401 with an
// OpenAI-style error; GET and HEAD requests of the health paths need none.
// An empty token (the program started by hand) requires nothing.
func RequireReplicaToken(token string, healthPaths []string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && slices.Contains(healthPaths, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		got := []byte(r.Header.Get(ReplicaTokenHeader))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_replica_token",
				"This replica answers its deployment's gateway only: call the deployment's endpoint.")
			return
		}
		next.ServeHTTP(w, r)
	})
}
