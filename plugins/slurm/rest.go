package slurm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// API versions of slurmrestd the provider speaks, in order of preference:
// v0.0.38 (Slurm 22.05 and 23.02, tested against a real cluster) first,
// then v0.0.39 (Slurm 23.02 and 23.11).
var apiVersions = []string{"v0.0.38", "v0.0.39"}

// restClient talks to slurmrestd with JWT authentication.
type restClient struct {
	base    string // http://host:port, no trailing slash
	version string // v0.0.38, ...
	user    string
	token   func() (string, error)
	http    *http.Client
}

// newRESTClient connects to slurmrestd: it finds the API version (the one
// given, else from /openapi, else by pinging each known version) and
// checks the token with a ping.
func newRESTClient(ctx context.Context, base, version, user string, token func() (string, error)) (*restClient, error) {
	c := &restClient{base: strings.TrimRight(base, "/"), user: user, token: token, http: &http.Client{Timeout: 30 * time.Second}}
	if version != "" {
		c.version = version
		if err := c.ping(ctx); err != nil {
			return nil, err
		}
		return c, nil
	}
	offered, derr := c.discover(ctx)
	for _, v := range apiVersions {
		if derr == nil && !contains(offered, v) {
			continue
		}
		c.version = v
		if err := c.ping(ctx); err == nil {
			return c, nil
		} else if derr == nil {
			return nil, err
		}
	}
	if derr == nil {
		return nil, fmt.Errorf("slurmrestd at %s offers the APIs %s; this provider speaks %s (set api_version to force one)", c.base, strings.Join(offered, ", "), strings.Join(apiVersions, ", "))
	}
	return nil, fmt.Errorf("cannot find an API version slurmrestd at %s answers (%v); this provider speaks %s", c.base, derr, strings.Join(apiVersions, ", "))
}

func (c *restClient) String() string { return fmt.Sprintf("slurmrestd %s (API %s)", c.base, c.version) }

var apiPathRE = regexp.MustCompile(`^/slurm/(v[0-9]+\.[0-9]+\.[0-9]+)/`)

// discover lists the slurm API versions in slurmrestd's OpenAPI document.
func (c *restClient) discover(ctx context.Context) ([]string, error) {
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/openapi/v3", nil, &doc); err != nil {
		if _, err2 := c.do(ctx, http.MethodGet, "/openapi", nil, &doc); err2 != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for p := range doc.Paths {
		if m := apiPathRE.FindStringSubmatch(p); m != nil {
			seen[m[1]] = true
		}
	}
	var out []string
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("the OpenAPI document of %s lists no /slurm/ API", c.base)
	}
	return out, nil
}

func (c *restClient) ping(ctx context.Context) error {
	var r apiResponse
	if _, err := c.do(ctx, http.MethodGet, c.path("ping"), nil, &r); err != nil {
		return err
	}
	return r.err("ping")
}

func (c *restClient) path(p string) string { return "/slurm/" + c.version + "/" + p }

// apiError is one entry of a response's "errors".
type apiError struct {
	Error       string `json:"error"`
	Description string `json:"description"`
	Number      int    `json:"error_number"`
}

type apiResponse struct {
	Errors []apiError `json:"errors"`
}

// Slurm error numbers the provider recognises.
const (
	eslurmInvalidJobID = 2017
	eslurmAlreadyDone  = 2021
)

func (r *apiResponse) err(what string) error {
	if len(r.Errors) == 0 {
		return nil
	}
	var msgs []string
	for _, e := range r.Errors {
		m := e.Description
		if e.Error != "" && !strings.Contains(m, e.Error) {
			m = strings.TrimSuffix(strings.TrimSpace(e.Error+": "+m), ":")
		}
		msgs = append(msgs, m)
	}
	return &restError{what: what, msg: strings.Join(msgs, "; "), errs: r.Errors}
}

type restError struct {
	what string
	msg  string
	errs []apiError
}

func (e *restError) Error() string { return fmt.Sprintf("slurmrestd: %s: %s", e.what, e.msg) }

func (e *restError) has(number int) bool {
	for _, x := range e.errs {
		if x.Number == number {
			return true
		}
	}
	return false
}

// do sends one request and decodes the JSON answer into out (whatever the
// HTTP status: slurmrestd reports errors in the body).
func (c *restClient) do(ctx context.Context, method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	tok, err := c.token()
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-SLURM-USER-NAME", c.user)
	req.Header.Set("X-SLURM-USER-TOKEN", tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("slurmrestd %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("slurmrestd %s %s: %w", method, path, err)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return resp.StatusCode, fmt.Errorf("slurmrestd %s refused the credentials of user %q (HTTP %d): check the token (SLURM_JWT or token_file; `scontrol token username=%s`) and the user name", c.base, c.user, resp.StatusCode, c.user)
	case http.StatusNotFound:
		if !json.Valid(data) || !bytes.Contains(data, []byte(`"errors"`)) {
			return resp.StatusCode, fmt.Errorf("slurmrestd %s has no %s (HTTP 404): is the API version right?", c.base, path)
		}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("slurmrestd %s %s: HTTP %d, unreadable answer: %v: %s", method, path, resp.StatusCode, err, clip(string(data), 300))
		}
	}
	return resp.StatusCode, nil
}

// Submit queues a batch job (POST job/submit).
func (c *restClient) Submit(ctx context.Context, s *submission) (string, error) {
	job := map[string]any{
		"name":                      s.Name,
		"current_working_directory": s.Dir,
		"standard_output":           s.Output,
		"standard_error":            s.Output,
		"requeue":                   false,
	}
	set := func(k string, v any, ok bool) {
		if ok {
			job[k] = v
		}
	}
	set("partition", s.Part, s.Part != "")
	set("account", s.Account, s.Account != "")
	set("qos", s.QOS, s.QOS != "")
	set("cpus_per_task", s.CPUs, s.CPUs > 0)
	nodes := max(s.Nodes, 1)
	if c.version == "v0.0.38" {
		env := map[string]string{}
		for k, v := range s.Env {
			env[k] = v
		}
		job["environment"] = env
		job["nodes"] = []int{nodes, nodes}
		set("tasks_per_node", 1, nodes > 1)
		set("tasks", nodes, nodes > 1)
		set("memory_per_node", s.MemMB, s.MemMB > 0)
		set("time_limit", s.Minutes, s.Minutes > 0)
		set("gres", s.Gres, s.Gres != "")
	} else { // v0.0.39
		var env []string
		for k, v := range s.Env {
			env = append(env, k+"="+v)
		}
		sort.Strings(env)
		job["environment"] = env
		job["minimum_nodes"], job["maximum_nodes"] = nodes, nodes
		set("tasks_per_node", 1, nodes > 1)
		set("tasks", nodes, nodes > 1)
		set("memory_per_node", noVal(s.MemMB), s.MemMB > 0)
		set("time_limit", noVal(int64(s.Minutes)), s.Minutes > 0)
		set("tres_per_node", "gres:"+s.Gres, s.Gres != "")
	}
	var r struct {
		apiResponse
		JobID flexInt `json:"job_id"`
	}
	if _, err := c.do(ctx, http.MethodPost, c.path("job/submit"), map[string]any{"script": s.Script, "job": job}, &r); err != nil {
		return "", err
	}
	if err := r.err("submitting the job"); err != nil {
		return "", err
	}
	if r.JobID.N <= 0 {
		return "", fmt.Errorf("slurmrestd accepted the job but returned no job id")
	}
	return strconv.FormatInt(r.JobID.N, 10), nil
}

func noVal(n int64) map[string]any {
	return map[string]any{"set": true, "infinite": false, "number": n}
}

// restJob is a job as the v0.0.38/v0.0.39 APIs describe it (tolerant of
// the later shapes: state lists, number objects, verbose exit codes).
type restJob struct {
	JobID     flexInt         `json:"job_id"`
	State     flexState       `json:"job_state"`
	Reason    string          `json:"state_reason"`
	ExitCode  json.RawMessage `json:"exit_code"`
	Nodes     string          `json:"nodes"`
	Partition string          `json:"partition"`
	Start     flexInt         `json:"start_time"`
	End       flexInt         `json:"end_time"`
}

func (j *restJob) info() *jobInfo {
	ji := &jobInfo{ID: strconv.FormatInt(j.JobID.N, 10), State: j.State.S, Reason: j.Reason, Nodes: j.Nodes, Partition: j.Partition}
	ji.ExitCode, ji.Signal = decodeExit(j.ExitCode)
	if j.Start.N > 0 {
		ji.Start = time.Unix(j.Start.N, 0).UTC()
	}
	if j.End.N > 0 {
		switch classify(ji.State) {
		case phaseQueued:
		case phaseRunning:
			ji.Deadline = time.Unix(j.End.N, 0).UTC()
		default:
			ji.End = time.Unix(j.End.N, 0).UTC()
		}
	}
	return ji
}

// Job describes a job (GET job/{id}).
func (c *restClient) Job(ctx context.Context, id string) (*jobInfo, error) {
	var r struct {
		apiResponse
		Jobs []restJob `json:"jobs"`
	}
	if _, err := c.do(ctx, http.MethodGet, c.path("job/"+url.PathEscape(id)), nil, &r); err != nil {
		return nil, err
	}
	if err := r.err("reading job " + id); err != nil {
		if re, ok := err.(*restError); ok && re.has(eslurmInvalidJobID) {
			return nil, errJobUnknown
		}
		return nil, err
	}
	for i := range r.Jobs {
		if strconv.FormatInt(r.Jobs[i].JobID.N, 10) == id {
			return r.Jobs[i].info(), nil
		}
	}
	return nil, errJobUnknown
}

// Cancel cancels a job (DELETE job/{id}).
func (c *restClient) Cancel(ctx context.Context, id string) error {
	var r apiResponse
	if _, err := c.do(ctx, http.MethodDelete, c.path("job/"+url.PathEscape(id)), nil, &r); err != nil {
		return err
	}
	if err := r.err("cancelling job " + id); err != nil {
		if re, ok := err.(*restError); ok && (re.has(eslurmInvalidJobID) || re.has(eslurmAlreadyDone)) {
			return nil
		}
		return err
	}
	return nil
}

// Nodes lists the nodes (GET nodes).
func (c *restClient) Nodes(ctx context.Context) ([]nodeInfo, error) {
	var r struct {
		apiResponse
		Nodes []struct {
			Name       string    `json:"name"`
			State      flexState `json:"state"`
			Flags      []string  `json:"state_flags"`
			Partitions []string  `json:"partitions"`
			Gres       string    `json:"gres"`
			GresUsed   string    `json:"gres_used"`
			CPUs       flexInt   `json:"cpus"`
			AllocCPUs  flexInt   `json:"alloc_cpus"`
		} `json:"nodes"`
	}
	if _, err := c.do(ctx, http.MethodGet, c.path("nodes"), nil, &r); err != nil {
		return nil, err
	}
	if err := r.err("listing nodes"); err != nil {
		return nil, err
	}
	out := make([]nodeInfo, 0, len(r.Nodes))
	for _, n := range r.Nodes {
		flags := n.Flags
		if len(n.State.All) > 1 {
			flags = append(flags, n.State.All[1:]...)
		}
		out = append(out, nodeInfo{
			Name: n.Name, State: strings.ToLower(n.State.S), Flags: upper(flags), Partitions: n.Partitions,
			GPUs: parseGres(n.Gres, n.GresUsed), CPUs: int(n.CPUs.N), AllocCPUs: int(n.AllocCPUs.N),
		})
	}
	return out, nil
}

// PendingJobs counts pending jobs (GET jobs).
func (c *restClient) PendingJobs(ctx context.Context, partition string) (int, error) {
	var r struct {
		apiResponse
		Jobs []restJob `json:"jobs"`
	}
	if _, err := c.do(ctx, http.MethodGet, c.path("jobs"), nil, &r); err != nil {
		return 0, err
	}
	if err := r.err("listing jobs"); err != nil {
		return 0, err
	}
	n := 0
	for _, j := range r.Jobs {
		if classify(j.State.S) == phaseQueued && (partition == "" || contains(strings.Split(j.Partition, ","), partition)) {
			n++
		}
	}
	return n, nil
}

// readToken returns the JWT: the token file's content when a file is
// configured (read on every call, so a rotated token is picked up), else
// the value of SLURM_JWT when the provider started.
func tokenSource(file, env string) func() (string, error) {
	return func() (string, error) {
		if file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				return "", fmt.Errorf("reading the Slurm token: %w", err)
			}
			t := strings.TrimSpace(string(b))
			t = strings.TrimPrefix(t, "SLURM_JWT=")
			if t == "" {
				return "", fmt.Errorf("the Slurm token file %s is empty", file)
			}
			return t, nil
		}
		if env == "" {
			return "", fmt.Errorf("no Slurm token: set SLURM_JWT in llmops' environment or token_file in the provider block")
		}
		return env, nil
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func upper(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToUpper(s)
	}
	return out
}
