package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmops/llmops/plugins/sdk/retrieval"
)

// ConfigFile is the gateway's configuration file in its directory.
const ConfigFile = "gateway.json"

// Defaults.
const (
	DefaultMaxBodyBytes   = 4 << 20
	DefaultRequestTimeout = 5 * time.Minute
	DefaultReadTimeout    = 30 * time.Second
)

// Backend is one replica the gateway forwards to.
type Backend struct {
	// URL is the replica's base URL, e.g. http://127.0.0.1:41234, or
	// https://HOST/PATH (requests go to URL + their path).
	URL      string `json:"url"`
	Revision int64  `json:"revision"`
	Replica  int    `json:"replica"`
	// Token is the replica's token (ReplicaTokenEnv), sent with every
	// request in ReplicaTokenHeader; empty sends none.
	Token string `json:"token,omitempty"`
	// Upstream marks a hosted OpenAI-compatible API (a deployment's
	// upstream block) rather than a replica: URL is its base URL (https
	// allowed, with its path, e.g. https://api.openai.com/v1), requests
	// are sent to URL + the path after /v1, with Authorization: Bearer
	// the secret named KeyRef (held by the gateway process in memory only,
	// see LaunchWithSecrets; never in this file), and a request body's
	// "model" is replaced by Model.
	Upstream bool   `json:"upstream,omitempty"`
	Model    string `json:"model,omitempty"`
	KeyRef   string `json:"key_ref,omitempty"`
}

// Config is the gateway's routing and access configuration
// (DIR/gateway.json), written by the provider.
type Config struct {
	// Generation increases with every configuration the provider writes;
	// /metrics reports the one in force.
	Generation int64  `json:"generation"`
	Deployment string `json:"deployment"`
	// Revision is the deployment's current revision: the label of requests
	// that reach no backend.
	Revision int64     `json:"revision"`
	Backends []Backend `json:"backends"`
	// Models, when set, are the model names the deployment serves: the
	// gateway answers GET /v1/models and /v1/models/{id} itself and refuses
	// a request naming another model (404 model_not_found) before it
	// reaches a backend. Upstream deployments set it; replicas that list
	// their own models leave it empty.
	Models []string `json:"models,omitempty"`
	// Retrieval, when set, makes the deployment retrieval-augmented: the
	// gateway answers chat and completions with the prompt filled from
	// the index (rag.go) and adds the citations to the response.
	Retrieval *retrieval.Config `json:"retrieval,omitempty"`
	// Capture, when set, keeps a sample of the completions and chat
	// completions in the deployment's traffic directory (capture.go).
	Capture *CaptureConfig `json:"capture,omitempty"`
	// Public serves without keys.
	Public bool `json:"public,omitempty"`
	// KeyHashes are the accepted keys' salted hashes (HashKey).
	KeyHashes []string `json:"key_hashes,omitempty"`
	// RequestsPerMinute is the per-key rate limit; 0 means none.
	RequestsPerMinute float64 `json:"requests_per_minute,omitempty"`
	// MaxBodyBytes limits request bodies (default 4 MiB).
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"`
	// RequestTimeout bounds a request from its arrival to the end of its
	// response (Go duration; default 5m).
	RequestTimeout string `json:"request_timeout,omitempty"`
	// ReadTimeout bounds reading a request's headers and body (default
	// 30s). It is read when the gateway starts only.
	ReadTimeout string `json:"read_timeout,omitempty"`
}

func (c *Config) maxBody() int64 {
	if c.MaxBodyBytes > 0 {
		return c.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

func (c *Config) requestTimeout() time.Duration {
	if d, err := time.ParseDuration(c.RequestTimeout); err == nil && d > 0 {
		return d
	}
	return DefaultRequestTimeout
}

func (c *Config) readTimeout() time.Duration {
	if d, err := time.ParseDuration(c.ReadTimeout); err == nil && d > 0 {
		return d
	}
	return DefaultReadTimeout
}

// Check reports what is wrong with a configuration.
func (c *Config) Check() error {
	for _, b := range c.Backends {
		// A path is a prefix of every request's (a SageMaker endpoint's
		// /endpoints/NAME, which the aws provider's transport rewrites).
		u, err := url.Parse(b.URL)
		if b.Upstream {
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
				return fmt.Errorf("upstream %q is not an http(s)://host[:port][/path] URL", b.URL)
			}
			continue
		}
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("backend %q is not an http(s)://host:port[/path] URL", b.URL)
		}
	}
	if c.Capture != nil {
		if err := c.Capture.Check(); err != nil {
			return err
		}
	}
	if !c.Public && len(c.KeyHashes) == 0 {
		return fmt.Errorf("no key hashes and not public: the gateway would accept no caller")
	}
	for _, h := range c.KeyHashes {
		if _, err := parseKeyHash(h); err != nil {
			return err
		}
	}
	for _, d := range []string{c.RequestTimeout, c.ReadTimeout} {
		if d == "" {
			continue
		}
		if v, err := time.ParseDuration(d); err != nil || v <= 0 {
			return fmt.Errorf("invalid duration %q", d)
		}
	}
	return nil
}

// ReadConfig reads and checks dir/gateway.json.
func ReadConfig(dir string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	return &c, nil
}

// WriteConfig writes dir/gateway.json atomically (a temporary file renamed
// into place), readable by its owner only.
func WriteConfig(dir string, c *Config) error {
	if err := c.Check(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".gateway-*.json")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, ConfigFile))
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// Key hashes: "sha256:<salt hex>:<digest hex>", digest = SHA-256(salt ||
// key). API keys are random secrets, so a fast salted hash is enough; the
// salt keeps equal keys of two deployments from having equal hashes.
const keyHashPrefix = "sha256:"

type keyHash struct {
	text   string
	salt   []byte
	digest []byte
}

// HashKey returns a new salted hash of key.
func HashKey(key string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return keyHashPrefix + hex.EncodeToString(salt) + ":" + hex.EncodeToString(digest(salt, key)), nil
}

func digest(salt []byte, key string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(key))
	return h.Sum(nil)
}

func parseKeyHash(s string) (keyHash, error) {
	rest, ok := strings.CutPrefix(s, keyHashPrefix)
	salt, dg, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return keyHash{}, fmt.Errorf("%q is not a key hash (sha256:<salt>:<digest>)", clip(s))
	}
	sb, err1 := hex.DecodeString(salt)
	db, err2 := hex.DecodeString(dg)
	if err1 != nil || err2 != nil || len(sb) < 8 || len(db) != sha256.Size {
		return keyHash{}, fmt.Errorf("%q is not a key hash (sha256:<salt>:<digest>)", clip(s))
	}
	return keyHash{text: s, salt: sb, digest: db}, nil
}

// CheckKeyHash reports whether s has the form of a key hash.
func CheckKeyHash(s string) error {
	_, err := parseKeyHash(s)
	return err
}

// KeyMatches reports, in time independent of where they differ, whether
// key is the key that hash was made from.
func KeyMatches(hash, key string) bool {
	h, err := parseKeyHash(hash)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(digest(h.salt, key), h.digest) == 1
}

// matchKey returns the index of the hash key matches, or -1. It hashes the
// key with every salt and compares every digest, so its time does not
// depend on which hash (if any) matches.
func matchKey(hashes []keyHash, key string) int {
	found := -1
	for i, h := range hashes {
		if subtle.ConstantTimeCompare(digest(h.salt, key), h.digest) == 1 && found < 0 {
			found = i
		}
	}
	return found
}

func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}
