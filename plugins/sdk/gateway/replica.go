package gateway

import "github.com/llmops/llmops/plugins/sdk/replicaauth"

// The replica token (package replicaauth): the gateway sends each replica
// the token Backend.Token in ReplicaTokenHeader; the provider starts the
// replica with it in ReplicaTokenEnv.
const (
	ReplicaTokenEnv    = replicaauth.TokenEnv
	ReplicaTokenHeader = replicaauth.TokenHeader
)

// NewReplicaToken returns a new random replica token.
func NewReplicaToken() (string, error) { return replicaauth.NewToken() }
