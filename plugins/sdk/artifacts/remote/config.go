package remote

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/dir"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/oci"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/s3"
	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// Config names a remote artifact store. Its fields are those of the
// protocol's ArtifactStore (a value converts with remote.Config(v)).
type Config struct {
	// URL is s3://BUCKET[/PREFIX], oci://REGISTRY/REPOSITORY or the
	// absolute path of a shared directory; empty: no remote store.
	URL string
	// Endpoint is an S3-compatible server's URL (s3:// only).
	Endpoint string
	// PathStyle addresses the bucket in the path (s3:// only).
	PathStyle bool
	// Region and Profile override the AWS configuration's (s3:// only).
	Region  string
	Profile string
}

// Enabled reports whether a remote store is configured.
func (c Config) Enabled() bool { return c.URL != "" }

// IsRemoteURL reports whether u names a remote store (s3:// or oci://).
func IsRemoteURL(u string) bool {
	return strings.HasPrefix(u, "s3://") || strings.HasPrefix(u, "oci://")
}

// Check validates the configuration without contacting anything; its
// error says what is wrong and what is expected.
func (c Config) Check() error {
	switch {
	case strings.HasPrefix(c.URL, "s3://"):
		_, _, err := s3.ParseURL(c.URL)
		if err == nil && c.Endpoint != "" {
			if u, perr := url.Parse(c.Endpoint); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("endpoint %q is not an http:// or https:// URL", c.Endpoint)
			} else if u.User != nil {
				return fmt.Errorf("endpoint %q holds credentials: give them through the environment or a profile, never in the configuration", c.Endpoint)
			}
		}
		return err
	case strings.HasPrefix(c.URL, "oci://"):
		if c.Endpoint != "" || c.PathStyle || c.Region != "" || c.Profile != "" {
			return fmt.Errorf("endpoint, path_style, region and profile are for s3:// stores; an oci:// store takes only the url")
		}
		_, err := oci.ParseURL(c.URL)
		return err
	}
	if filepath.IsAbs(c.URL) {
		if c.Endpoint != "" || c.PathStyle || c.Region != "" || c.Profile != "" {
			return fmt.Errorf("endpoint, path_style, region and profile are for s3:// stores; a directory store takes only the url")
		}
		return nil
	}
	return fmt.Errorf("%q is not a remote store: want s3://BUCKET[/PREFIX], oci://REGISTRY/REPOSITORY or the absolute path of a shared directory", c.URL)
}

// OpenBackend opens the store c names. Nothing is contacted yet.
func OpenBackend(ctx context.Context, c Config) (backend.Backend, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if strings.HasPrefix(c.URL, "oci://") {
		return oci.New(ctx, oci.Options{URL: c.URL})
	}
	if filepath.IsAbs(c.URL) {
		return dir.New(c.URL)
	}
	return s3.New(ctx, s3.Options{URL: c.URL, Endpoint: c.Endpoint, PathStyle: c.PathStyle, Region: c.Region, Profile: c.Profile})
}

// Env returns the job contract's variables naming the store, for a job
// that runs where this machine's disk is not (LLMOPS_ARTIFACTS_URL, and
// LLMOPS_ARTIFACTS_ENDPOINT, _PATH_STYLE, _REGION when set).
func (c Config) Env() map[string]string {
	if !c.Enabled() {
		return nil
	}
	m := map[string]string{jobs.EnvArtifactsURL: c.URL}
	if c.Endpoint != "" {
		m[jobs.EnvArtifactsEndpoint] = c.Endpoint
	}
	if c.PathStyle {
		m[jobs.EnvArtifactsPathStyle] = "true"
	}
	if c.Region != "" {
		m[jobs.EnvArtifactsRegion] = c.Region
	}
	return m
}

// ConfigFromEnv reads the store the job contract names (getenv is usually
// os.Getenv); ok is false without LLMOPS_ARTIFACTS_URL.
func ConfigFromEnv(getenv func(string) string) (c Config, ok bool) {
	c.URL = getenv(jobs.EnvArtifactsURL)
	c.Endpoint = getenv(jobs.EnvArtifactsEndpoint)
	c.PathStyle, _ = strconv.ParseBool(getenv(jobs.EnvArtifactsPathStyle))
	c.Region = getenv(jobs.EnvArtifactsRegion)
	return c, c.URL != ""
}
