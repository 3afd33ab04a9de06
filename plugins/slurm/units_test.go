package slurm

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeAcrossAPIVersions(t *testing.T) {
	var j restJob
	// v0.0.38 (as slurmrestd 22.05 answers)
	json.Unmarshal([]byte(`{"job_id": 7, "job_state": "FAILED", "exit_code": 768, "state_reason": "NonZeroExitCode", "start_time": 1795739135, "end_time": 1795739140, "nodes": "n1"}`), &j)
	ji := j.info()
	if ji.ID != "7" || ji.State != "FAILED" || ji.ExitCode != 3 || ji.Signal != 0 || ji.End.Unix() != 1795739140 {
		t.Fatalf("v0.0.38: %+v", ji)
	}
	// v0.0.39/v0.0.40 shapes
	j = restJob{}
	json.Unmarshal([]byte(`{"job_id": 8, "job_state": ["TIMEOUT"], "exit_code": {"status": "SIGNALED", "return_code": {"set": true, "number": 0}, "signal": {"signal_id": {"set": true, "number": 15}, "name": "TERM"}}, "start_time": {"set": true, "infinite": false, "number": 100}, "end_time": {"set": false, "number": 0}}`), &j)
	ji = j.info()
	if ji.State != "TIMEOUT" || ji.Signal != 15 || ji.Start.Unix() != 100 || !ji.End.IsZero() {
		t.Fatalf("v0.0.40: %+v", ji)
	}
	// A running job's end_time is when its time limit ends.
	j = restJob{}
	json.Unmarshal([]byte(`{"job_id": 9, "job_state": "RUNNING", "start_time": 1795739135, "end_time": 1795740935}`), &j)
	if ji = j.info(); !ji.End.IsZero() || ji.Deadline.Unix() != 1795740935 {
		t.Fatalf("running: %+v", ji)
	}
	if c, s := decodeExit(json.RawMessage(`9`)); c != 0 || s != 9 {
		t.Fatalf("wait status 9: %d %d", c, s)
	}
}

func TestClassify(t *testing.T) {
	for state, want := range map[string]string{
		"PENDING": phaseQueued, "RUNNING": phaseRunning, "COMPLETING": phaseRunning, "COMPLETED": phaseDone,
		"FAILED": failFailed, "TIMEOUT": failTimeout, "CANCELLED": failCancelled, "CANCELLED by 0": failCancelled,
		"NODE_FAIL": failNodeFail, "PREEMPTED": failPreempted, "OUT_OF_MEMORY": failOOM, "BOOT_FAIL": failNodeFail,
		"SPECIAL_EXIT": failFailed, "REQUEUED": phaseQueued, "DEADLINE": failTimeout,
	} {
		if got := classify(state); got != want {
			t.Errorf("classify(%q) = %q, want %q", state, got, want)
		}
	}
}

func TestParseGres(t *testing.T) {
	for _, c := range []struct {
		gres, used string
		want       []gpuCount
	}{
		{"gpu:2", "gpu:1", []gpuCount{{"", 2, 1}}},
		{"gpu:2", "gpu:0", []gpuCount{{"", 2, 0}}},
		{"gpu:a100:4(S:0-1),gpu:v100:2", "gpu:a100:1(IDX:0),gpu:v100:2(IDX:0-1)", []gpuCount{{"a100", 4, 1}, {"v100", 2, 2}}},
		{"gpu:a100:1(IDX:0,2)", "", []gpuCount{{"a100", 1, 0}}},
		{"(null)", "", nil},
		{"mps:100,gpu:h100:8", "gpu:h100:3(IDX:0-2),mps:0", []gpuCount{{"h100", 8, 3}}},
	} {
		if got := parseGres(c.gres, c.used); !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseGres(%q, %q) = %+v, want %+v", c.gres, c.used, got, c.want)
		}
	}
}

func TestParseKV(t *testing.T) {
	kv := parseKV("JobId=12 JobName=llmops-train-x UserId=slurm(64030) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 StartTime=2026-11-27T00:25:35 EndTime=Unknown Command=/a b/c.sh WorkDir=/w x")
	for k, want := range map[string]string{"JobId": "12", "JobState": "FAILED", "ExitCode": "3:0", "Command": "/a b/c.sh", "WorkDir": "/w x", "EndTime": "Unknown"} {
		if kv[k] != want {
			t.Errorf("%s = %q, want %q", k, kv[k], want)
		}
	}
	if !parseSlurmTime("Unknown").IsZero() || parseSlurmTime("2026-11-27T00:25:35").IsZero() {
		t.Errorf("times")
	}
}

func TestResourcesGresAndMinutes(t *testing.T) {
	for _, c := range []struct {
		r    resources
		want string
	}{
		{resources{GPUs: 2, GPUType: "any"}, "gpu:2"},
		{resources{GPUs: 1}, "gpu:1"},
		{resources{GPUs: 4, GPUType: "a100"}, "gpu:a100:4"},
		{resources{GPUs: 0, GPUType: "a100"}, ""},
	} {
		if got := c.r.gres(); got != c.want {
			t.Errorf("gres(%+v) = %q, want %q", c.r, got, c.want)
		}
	}
	if minutes(90*time.Second) != 2 || minutes(6*time.Hour) != 360 || minutes(0) != 0 {
		t.Errorf("minutes")
	}
	p := retryPolicy{Attempts: 3, On: []string{failPreempted}}
	if !p.allows(failPreempted, 2) || p.allows(failPreempted, 3) || p.allows(failFailed, 1) {
		t.Errorf("retry policy")
	}
}

func TestComputeCapacity(t *testing.T) {
	nodes := []nodeInfo{
		{Name: "a", State: "mixed", Partitions: []string{"gpu"}, GPUs: []gpuCount{{"a100", 4, 3}}},
		{Name: "b", State: "idle", Partitions: []string{"gpu", "all"}, GPUs: []gpuCount{{"a100", 4, 0}, {"v100", 2, 0}}},
		{Name: "c", State: "idle", Flags: []string{"DRAIN"}, Partitions: []string{"gpu"}, GPUs: []gpuCount{{"a100", 8, 0}}},
		{Name: "d", State: "down", Partitions: []string{"gpu"}, GPUs: []gpuCount{{"a100", 8, 0}}},
		{Name: "e", State: "idle", Partitions: []string{"cpu"}},
	}
	c := computeCapacity(nodes, "gpu", 5)
	if c.Nodes != 4 || c.Usable != 2 || c.PendingJobs != 5 {
		t.Fatalf("%+v", c)
	}
	if g := c.GPUs["a100"]; g.Total != 8 || g.Free != 5 || g.MaxFreeOnNode != 4 {
		t.Fatalf("a100: %+v", g)
	}
	if free, most := c.Free("any"); free != 7 || most != 4 {
		t.Fatalf("any: %d %d", free, most)
	}
	if free, _ := c.Free("h100"); free != 0 {
		t.Fatalf("h100: %d", free)
	}
	if !reflect.DeepEqual(c.Types(), []string{"a100", "v100"}) {
		t.Fatalf("types %v", c.Types())
	}
}

func TestOffers(t *testing.T) {
	c := computeCapacity([]nodeInfo{
		{Name: "a", State: "mixed", Partitions: []string{"gpu"}, GPUs: []gpuCount{{"a100", 4, 3}}},
		{Name: "b", State: "idle", Partitions: []string{"gpu"}, GPUs: []gpuCount{{"a100", 2, 0}}},
	}, "gpu", 3)
	for _, tc := range []struct {
		r      resources
		avail  bool
		reason string
	}{
		{resources{GPUs: 2, GPUType: "a100"}, true, ""},
		{resources{GPUs: 2}, true, ""},
		{resources{}, true, ""},
		{resources{GPUs: 3, GPUType: "a100"}, false, "3 of 6 a100 GPUs free (at most 2 on one node; 3 needed per node), 3 jobs queued"},
		{resources{GPUs: 1, GPUType: "h100"}, false, "GPU type h100 missing in partition gpu (it has a100)"},
		{resources{Nodes: 3}, false, "2 usable nodes, the job needs 3"},
		{resources{Nodes: 2, GPUs: 2}, false, "3 any GPUs free, 2 nodes x 2 needed"},
	} {
		o := offerFor(c, tc.r)
		if o.Available != tc.avail || !strings.Contains(o.Reason, tc.reason) {
			t.Errorf("offer for %+v: %+v, want available=%v reason %q", tc.r, o, tc.avail, tc.reason)
		}
	}
	drained := computeCapacity([]nodeInfo{{Name: "a", State: "idle", Flags: []string{"DRAIN"}, Partitions: []string{"gpu"}, GPUs: []gpuCount{{"", 2, 0}}}}, "gpu", 0)
	if o := offerFor(drained, resources{GPUs: 1}); o.Available || !strings.Contains(o.Reason, "no usable node") {
		t.Errorf("drained: %+v", o)
	}
}

// A replica is renewed renew_before its time limit, but never in the
// first half of its run.
func TestExpiring(t *testing.T) {
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	job := func(limit time.Duration) *jobInfo {
		return &jobInfo{State: "RUNNING", Start: start, Deadline: start.Add(limit)}
	}
	for _, c := range []struct {
		name    string
		ji      *jobInfo
		renew   time.Duration
		elapsed time.Duration
		want    bool
	}{
		{"a day's limit, early", job(24 * time.Hour), 15 * time.Minute, time.Hour, false},
		{"a day's limit, 16m left", job(24 * time.Hour), 15 * time.Minute, 24*time.Hour - 16*time.Minute, false},
		{"a day's limit, 15m left", job(24 * time.Hour), 15 * time.Minute, 24*time.Hour - 15*time.Minute, true},
		{"a day's limit, past it", job(24 * time.Hour), 15 * time.Minute, 25 * time.Hour, true},
		{"10m limit: half, not 15m", job(10 * time.Minute), 15 * time.Minute, 4 * time.Minute, false},
		{"10m limit at half", job(10 * time.Minute), 15 * time.Minute, 5 * time.Minute, true},
		{"renew_before 1m", job(time.Hour), time.Minute, 58 * time.Minute, false},
		{"renew_before 1m, 30s left", job(time.Hour), time.Minute, 59*time.Minute + 30*time.Second, true},
		{"no deadline", &jobInfo{State: "RUNNING", Start: start}, 15 * time.Minute, 100 * time.Hour, false},
		{"not started", &jobInfo{State: "RUNNING", Deadline: start}, 15 * time.Minute, time.Hour, false},
		{"nil", nil, 15 * time.Minute, 0, false},
	} {
		if got := expiring(c.ji, c.renew, start.Add(c.elapsed)); got != c.want {
			t.Errorf("%s: expiring = %v, want %v", c.name, got, c.want)
		}
	}
}

// slurmrestd's errors read as one sentence each, and a submission refused
// for want of a node says what to do.
func TestRestErrorsAndSubmitHint(t *testing.T) {
	for _, c := range []struct {
		errs []apiError
		want string
	}{
		{[]apiError{{Error: "Required node not available (down, drained or reserved)", Number: 2015}},
			"slurmrestd: submitting the job: Required node not available (down, drained or reserved)"},
		{[]apiError{{Error: "Invalid job id specified", Description: "job 7"}},
			"slurmrestd: submitting the job: Invalid job id specified: job 7"},
		{[]apiError{{Description: "Unable to read job", Error: "Unable to read job"}, {Description: "second"}},
			"slurmrestd: submitting the job: Unable to read job; second"},
	} {
		err := (&apiResponse{Errors: c.errs}).err("submitting the job")
		if err == nil || err.Error() != c.want {
			t.Errorf("%+v: got %v, want %q", c.errs, err, c.want)
		}
	}
	if (&apiResponse{}).err("x") != nil {
		t.Error("no errors must be no error")
	}
	refused := (&apiResponse{Errors: []apiError{{Error: "Required node not available (down, drained or reserved)"}}}).err("submitting the job")
	for part, want := range map[string]string{"gpu": "`sinfo -R -p gpu`", "": "`sinfo -R`"} {
		got := submitHint(refused, part).Error()
		if !strings.HasPrefix(got, refused.Error()) || !strings.Contains(got, want) || !strings.Contains(got, "placement block") {
			t.Errorf("hint for partition %q: %s", part, got)
		}
	}
	other := (&apiResponse{Errors: []apiError{{Error: "Invalid account"}}}).err("submitting the job")
	if submitHint(other, "gpu") != other {
		t.Error("other refusals are left as Slurm says them")
	}
}
