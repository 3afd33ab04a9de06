package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A Listing is what a serving provider publishes about a deployment whose
// traffic goes through this gateway, in the configuration's shared
// artifact store: enough for any other provider (a monitor, an evaluation
// against the live endpoint) to find the endpoint and the metrics without
// knowing which provider serves it or where it keeps its records.
type Listing struct {
	Deployment string `json:"deployment"`
	Provider   string `json:"provider"`
	// Endpoint is the OpenAI-compatible base URL (http://HOST:PORT/v1).
	Endpoint string `json:"endpoint"`
	// Revision is the revision the gateway routes to.
	Revision  int64     `json:"revision"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ListingDir is where listings live, relative to the artifact store's
// root: one <deployment id>.json per deployment.
const ListingDir = "runs/gateways"

// Base is the gateway's root URL (where /metrics and /health are).
func (l *Listing) Base() string { return strings.TrimSuffix(l.Endpoint, "/v1") }

// EndpointURL is the OpenAI-compatible base URL of a gateway listening on
// host:port, as the llmops host reaches it (loopback when the gateway
// listens on every address).
func EndpointURL(host string, port int) string {
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/v1"
}

func listingPath(root, id string) (string, error) {
	if !safeID(id) {
		return "", fmt.Errorf("%q is not a deployment id", id)
	}
	return filepath.Join(root, filepath.FromSlash(ListingDir), id+".json"), nil
}

// safeID accepts the ids providers make (dep-<hex>, letters, digits, '-',
// '_', '.'), never a path.
func safeID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// Publish writes (or replaces, atomically) the listing of l.Deployment in
// the store at root.
func Publish(root string, l Listing) error {
	p, err := listingPath(root, l.Deployment)
	if err != nil {
		return err
	}
	if l.UpdatedAt.IsZero() {
		l.UpdatedAt = time.Now().UTC()
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".listing-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(append(b, '\n'))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), p)
	}
	if werr != nil {
		_ = os.Remove(f.Name())
	}
	return werr
}

// Withdraw removes the listing of a deployment (gone or never listed is
// not an error).
func Withdraw(root, id string) error {
	p, err := listingPath(root, id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Lookup reads the listing of a deployment; the error wraps
// os.ErrNotExist when no provider lists it.
func Lookup(root, id string) (*Listing, error) {
	p, err := listingPath(root, id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", os.ErrNotExist, err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var l Listing
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if l.Deployment != id || l.Endpoint == "" {
		return nil, fmt.Errorf("%s: not the listing of deployment %s", p, id)
	}
	return &l, nil
}
