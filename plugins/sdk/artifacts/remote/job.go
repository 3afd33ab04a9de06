package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// Fetch is for a job runner on compute that does not see the disk of the
// machine that runs llmops (a pod, a cloud job): it brings the artifact
// id from the remote store c into the local cache at cacheDir (reusing
// what is there) and returns its path.
func Fetch(ctx context.Context, c Config, cacheDir string, id artifacts.ID, opts Options) (string, error) {
	s, err := OpenStore(ctx, cacheDir, c, opts)
	if err != nil {
		return "", err
	}
	return s.Ensure(ctx, id)
}

// Push is Fetch's converse: it stores the file or directory at path in
// the cache at cacheDir (moving it there when move is set, else copying)
// and uploads it to the remote store c; it returns the artifact's id, for
// the job's manifest.
func Push(ctx context.Context, c Config, cacheDir, path string, move bool, opts Options) (artifacts.ID, error) {
	s, err := OpenStore(ctx, cacheDir, c, opts)
	if err != nil {
		return "", err
	}
	mode := artifacts.Copy
	if move {
		mode = artifacts.Move
	}
	info, err := s.PutContext(ctx, path, artifacts.PutOptions{Mode: mode})
	return info.ID, err
}

// Localize is what a job runner does before it starts the user's command:
// it reads LLMOPS_INPUTS (each path variable's digest), fetches every
// input from the remote store named by LLMOPS_ARTIFACTS_URL into the cache
// at cacheDir, and returns the path variables pointing at the local
// copies (to set in the command's environment).
func Localize(ctx context.Context, getenv func(string) string, cacheDir string, opts Options) (map[string]string, error) {
	c, ok := ConfigFromEnv(getenv)
	if !ok {
		return nil, fmt.Errorf("%s is not set: the job was not given a remote artifact store", jobs.EnvArtifactsURL)
	}
	var inputs map[string]string
	if raw := getenv(jobs.EnvInputs); raw != "" {
		if err := json.Unmarshal([]byte(raw), &inputs); err != nil {
			return nil, fmt.Errorf("%s is not a JSON object of strings: %v", jobs.EnvInputs, err)
		}
	}
	s, err := OpenStore(ctx, cacheDir, c, opts)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, ref := range inputs {
		idPart, inside, _ := strings.Cut(ref, "/")
		id, err := artifacts.ParseID(idPart)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", jobs.EnvInputs, name, err)
		}
		if inside != "" && (strings.Contains("/"+inside+"/", "/../") || strings.HasPrefix(inside, "/")) {
			return nil, fmt.Errorf("%s: %s: %q climbs out of the artifact", jobs.EnvInputs, name, inside)
		}
		p, err := s.Ensure(ctx, id)
		if err != nil {
			return nil, err
		}
		if inside != "" {
			p = filepath.Join(p, filepath.FromSlash(inside))
		}
		out[name] = p
	}
	return out, nil
}
