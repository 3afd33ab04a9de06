package aws

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/llmops/llmops/internal/testenv"
)

// fakeAWS is the AWS the tests talk to: the moto server (the shared AWS
// emulator of scripts/aws-test-env.sh) behind a small front that adds
// what moto does not do (docs/aws.md, "What was tested against what"):
//
//   - it plays the training container: when CreateTrainingJob succeeds,
//     it writes the job's output archive (model.tar.gz, what a job writes
//     to LLMOPS_OUTPUT_DIR) where SageMaker would, from container();
//   - StopTrainingJob (moto answers 500): the job is recorded as stopped
//     and DescribeTrainingJob reports Stopped from then on;
//   - Environment: moto does not keep a job's environment; the fake adds
//     it to DescribeTrainingJob as SageMaker does;
//   - hold: jobs named there are reported InProgress (moto completes
//     every job at once);
//   - refuse: CreateTrainingJob or CreateEndpointConfig on these
//     instance types fails with ResourceLimitExceeded, as an exhausted
//     quota does.
//
// Everything else, S3 included, is moto's own answer.
type fakeAWS struct {
	t     *testing.T
	aws   testenv.AWS
	URL   string
	moto  *url.URL
	mu    sync.Mutex
	calls []string // SageMaker operations, in order
	// container returns the files of a job's output archive.
	container func(job map[string]any) map[string]string
	stopped   map[string]bool
	hold      map[string]bool
	envs      map[string]any // job name -> its Environment (moto drops it)
	holdAll   bool           // every job is reported InProgress (unless stopped)
	auths     []string       // Authorization headers of endpoint invocations
	refuse    map[string]bool
}

func newFakeAWS(t *testing.T) *fakeAWS {
	t.Helper()
	a := testenv.NeedAWS(t)
	u, _ := url.Parse(a.Endpoint)
	f := &fakeAWS{t: t, aws: a, moto: u, stopped: map[string]bool{}, envs: map[string]any{}, hold: map[string]bool{}, refuse: map[string]bool{},
		container: func(map[string]any) map[string]string {
			return map[string]string{"model/weights.bin": "trained", "metrics.json": `{"loss": 0.25, "accuracy": 0.9}`}
		}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(f.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	f.URL = "http://" + ln.Addr().String()
	return f
}

// invoke plays a SageMaker endpoint's container (moto has no runtime):
// the call must be signed with SigV4 for sagemaker, and the answer names
// the endpoint that served it.
func (f *fakeAWS) invoke(w http.ResponseWriter, r *http.Request, name string) {
	auth := r.Header.Get("Authorization")
	f.mu.Lock()
	f.calls = append(f.calls, "InvokeEndpoint")
	f.auths = append(f.auths, auth)
	f.mu.Unlock()
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(auth, "/sagemaker/aws4_request") || r.Method != http.MethodPost {
		awsError(w, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "chat.completion", "model": name,
		"choices": []any{map[string]any{"index": 0, "message": map[string]string{"role": "assistant", "content": "served by " + name}}},
		"usage":   map[string]int{"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})
}

// Env points the AWS SDK of a process at the fake.
func (f *fakeAWS) Env() []string {
	env := f.aws.Env()
	for i, kv := range env {
		if strings.HasPrefix(kv, "AWS_ENDPOINT_URL=") {
			env[i] = "AWS_ENDPOINT_URL=" + f.URL
		}
	}
	return env
}

func (f *fakeAWS) set(m map[string]bool, k string, v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v {
		m[k] = true
	} else {
		delete(m, k)
	}
}

func (f *fakeAWS) is(m map[string]bool, k string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return m[k]
}

func (f *fakeAWS) holding() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.holdAll
}

func (f *fakeAWS) called(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}
	return n
}

func awsError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func (f *fakeAWS) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, isSM := strings.CutPrefix(target, "SageMaker.")
	if name, ok := strings.CutPrefix(r.URL.Path, "/endpoints/"); ok && strings.HasSuffix(name, "/invocations") {
		f.invoke(w, r, strings.TrimSuffix(name, "/invocations"))
		return
	}
	if !isSM {
		f.forward(w, r, nil)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	json.Unmarshal(body, &req)
	f.mu.Lock()
	f.calls = append(f.calls, op)
	f.mu.Unlock()
	name, _ := req["TrainingJobName"].(string)
	switch op {
	case "CreateTrainingJob":
		it := str(req, "ResourceConfig", "InstanceType")
		if f.is(f.refuse, it) {
			awsError(w, "ResourceLimitExceeded", fmt.Sprintf("The account-level service limit 'ml.%s for training job usage' is 0 Instances", it))
			return
		}
		rec := f.forward(w, r, body)
		if rec == http.StatusOK {
			f.mu.Lock()
			f.envs[name] = req["Environment"]
			f.mu.Unlock()
			f.playContainer(name, req)
		}
		return
	case "CreateEndpointConfig":
		if vs, ok := req["ProductionVariants"].([]any); ok && len(vs) > 0 {
			if v, ok := vs[0].(map[string]any); ok && f.is(f.refuse, fmt.Sprint(v["InstanceType"])) {
				awsError(w, "ResourceLimitExceeded", fmt.Sprintf("The account-level service limit '%v for endpoint usage' is 0 Instances", v["InstanceType"]))
				return
			}
		}
	case "StopTrainingJob":
		f.set(f.stopped, name, true)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte("{}"))
		return
	case "DescribeTrainingJob":
		f.describe(w, r, body, name)
		return
	}
	f.forward(w, r, body)
}

// describe answers DescribeTrainingJob with moto's answer, the status
// changed to Stopped or InProgress when the test says so, and the job's
// Environment added.
func (f *fakeAWS) describe(w http.ResponseWriter, r *http.Request, body []byte, name string) {
	resp, err := f.send(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	f.mu.Lock()
	if env, ok := f.envs[name]; ok && resp.StatusCode == http.StatusOK {
		doc["Environment"] = env
	}
	f.mu.Unlock()
	switch {
	case resp.StatusCode != http.StatusOK:
	case f.is(f.stopped, name):
		doc["TrainingJobStatus"], doc["SecondaryStatus"] = "Stopped", "Stopped"
	case f.is(f.hold, name) || f.holding():
		doc["TrainingJobStatus"], doc["SecondaryStatus"] = "InProgress", "Training"
		delete(doc, "TrainingEndTime")
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(resp.StatusCode)
	json.NewEncoder(w).Encode(doc)
}

func (f *fakeAWS) send(r *http.Request, body []byte) (*http.Response, error) {
	out, _ := http.NewRequest(r.Method, f.aws.Endpoint+r.URL.RequestURI(), bytes.NewReader(body))
	out.Header = r.Header.Clone()
	return http.DefaultClient.Do(out)
}

// forward passes the request to moto; it returns the status code.
func (f *fakeAWS) forward(w http.ResponseWriter, r *http.Request, body []byte) int {
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	code := 0
	rp := httputil.NewSingleHostReverseProxy(f.moto)
	rp.ModifyResponse = func(resp *http.Response) error { code = resp.StatusCode; return nil }
	rp.ServeHTTP(w, r)
	return code
}

// playContainer writes a created job's output archive where SageMaker
// puts it: <S3OutputPath>/<job>/output/model.tar.gz.
func (f *fakeAWS) playContainer(name string, req map[string]any) {
	out := str(req, "OutputDataConfig", "S3OutputPath")
	u, err := url.Parse(out)
	if err != nil || u.Scheme != "s3" {
		f.t.Errorf("fake AWS: job %s has output path %q", name, out)
		return
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for p, content := range f.container(req) {
		tw.WriteHeader(&tar.Header{Name: p, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
		tw.Write([]byte(content))
	}
	tw.Close()
	zw.Close()
	key := strings.Trim(u.Path, "/") + "/" + name + "/output/model.tar.gz"
	put, _ := http.NewRequest(http.MethodPut, f.aws.Endpoint+"/"+u.Host+"/"+key, &buf)
	resp, err := http.DefaultClient.Do(put)
	if err != nil || resp.StatusCode != http.StatusOK {
		f.t.Errorf("fake AWS: writing the output of %s: %v %v", name, err, resp)
		return
	}
	resp.Body.Close()
}

// str reads a nested string of a JSON request.
func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}
