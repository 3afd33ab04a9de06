package slurm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// cliClient drives Slurm through its commands on a login node: sbatch,
// scontrol, squeue and scancel, found in binDir or on PATH. Every command
// is run from an argv list, never through a shell.
type cliClient struct {
	binDir string
	// env is the environment of the commands (llmops' own, which carries
	// SLURM_CONF and the like); sbatch gets the job's base environment
	// instead, plus the SLURM_* client settings.
	env []string
}

func (c *cliClient) String() string {
	if c.binDir != "" {
		return "the Slurm commands in " + c.binDir
	}
	return "the Slurm commands on PATH"
}

func (c *cliClient) bin(name string) string {
	if c.binDir != "" {
		return c.binDir + "/" + name
	}
	return name
}

// run runs one Slurm command and returns its stdout; an error carries its
// stderr.
func (c *cliClient) run(ctx context.Context, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin(name), args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = nil
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		return out.String(), fmt.Errorf("%s: %v: %s", name, err, clip(msg, 500))
	}
	return out.String(), nil
}

// Submit runs `sbatch --parsable [options] SCRIPT`.
func (c *cliClient) Submit(ctx context.Context, s *submission) (string, error) {
	nodes := max(s.Nodes, 1)
	args := []string{"--parsable", "--job-name=" + s.Name, "--chdir=" + s.Dir, "--output=" + s.Output, "--error=" + s.Output,
		"--no-requeue", "--export=ALL", "--nodes=" + strconv.Itoa(nodes)}
	if nodes > 1 {
		args = append(args, "--ntasks-per-node=1")
	}
	add := func(flag, v string) {
		if v != "" {
			args = append(args, flag+"="+v)
		}
	}
	add("--partition", s.Part)
	add("--account", s.Account)
	add("--qos", s.QOS)
	add("--gres", s.Gres)
	if s.CPUs > 0 {
		add("--cpus-per-task", strconv.Itoa(s.CPUs))
	}
	if s.MemMB > 0 {
		add("--mem", strconv.FormatInt(s.MemMB, 10)+"M")
	}
	if s.Minutes > 0 {
		add("--time", strconv.Itoa(s.Minutes))
	}
	args = append(args, s.Path)
	env := make([]string, 0, len(s.Env)+4)
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	for _, kv := range c.env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "SLURM_") && name != "SLURM_JWT" {
			if _, set := s.Env[name]; !set {
				env = append(env, kv)
			}
		}
	}
	out, err := c.run(ctx, env, "sbatch", args...)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return "", fmt.Errorf("sbatch printed %q, not a job id", clip(out, 100))
	}
	return id, nil
}

// Job runs `scontrol show job -o ID`.
func (c *cliClient) Job(ctx context.Context, id string) (*jobInfo, error) {
	out, err := c.run(ctx, c.env, "scontrol", "show", "job", "-o", id)
	if err != nil {
		if strings.Contains(err.Error(), "Invalid job id") {
			return nil, errJobUnknown
		}
		return nil, err
	}
	for _, line := range strings.Split(out, "\n") {
		kv := parseKV(line)
		if kv["JobId"] != id {
			continue
		}
		ji := &jobInfo{ID: id, State: kv["JobState"], Reason: kv["Reason"], Nodes: kv["NodeList"], Partition: kv["Partition"]}
		if a, b, ok := strings.Cut(kv["ExitCode"], ":"); ok {
			ji.ExitCode, _ = strconv.Atoi(a)
			ji.Signal, _ = strconv.Atoi(b)
		}
		ji.Start = parseSlurmTime(kv["StartTime"])
		switch classify(ji.State) {
		case phaseQueued:
		case phaseRunning:
			ji.Deadline = parseSlurmTime(kv["EndTime"])
		default:
			ji.End = parseSlurmTime(kv["EndTime"])
		}
		if ji.Nodes == "(null)" {
			ji.Nodes = ""
		}
		return ji, nil
	}
	return nil, errJobUnknown
}

// Cancel runs `scancel ID`.
func (c *cliClient) Cancel(ctx context.Context, id string) error {
	_, err := c.run(ctx, c.env, "scancel", id)
	if err != nil && (strings.Contains(err.Error(), "Invalid job id") || strings.Contains(err.Error(), "already completing or completed")) {
		return nil
	}
	return err
}

// Nodes runs `scontrol show node -d -o`.
func (c *cliClient) Nodes(ctx context.Context) ([]nodeInfo, error) {
	out, err := c.run(ctx, c.env, "scontrol", "show", "node", "-d", "-o")
	if err != nil {
		return nil, err
	}
	var nodes []nodeInfo
	for _, line := range strings.Split(out, "\n") {
		kv := parseKV(line)
		if kv["NodeName"] == "" {
			continue
		}
		words := strings.Split(kv["State"], "+")
		n := nodeInfo{Name: kv["NodeName"], State: strings.ToLower(words[0]), Flags: upper(words[1:]), GPUs: parseGres(kv["Gres"], kv["GresUsed"])}
		if p := kv["Partitions"]; p != "" && p != "(null)" {
			n.Partitions = strings.Split(p, ",")
		}
		n.CPUs, _ = strconv.Atoi(kv["CPUTot"])
		n.AllocCPUs, _ = strconv.Atoi(kv["CPUAlloc"])
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// PendingJobs runs `squeue -h -t PENDING -o %i [-p PARTITION]`.
func (c *cliClient) PendingJobs(ctx context.Context, partition string) (int, error) {
	args := []string{"-h", "-t", "PENDING", "-o", "%i"}
	if partition != "" {
		args = append(args, "-p", partition)
	}
	out, err := c.run(ctx, c.env, "squeue", args...)
	if err != nil {
		return 0, err
	}
	return len(strings.Fields(out)), nil
}

var kvKeyRE = regexp.MustCompile(`(?:^|\s)([A-Za-z][A-Za-z0-9_/:.]*)=`)

// parseKV reads the one-line `scontrol show ... -o` format: Key=value
// pairs separated by spaces (a value runs up to the next " Key=").
func parseKV(line string) map[string]string {
	out := map[string]string{}
	locs := kvKeyRE.FindAllStringSubmatchIndex(line, -1)
	for i, l := range locs {
		key := line[l[2]:l[3]]
		end := len(line)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if _, dup := out[key]; !dup {
			out[key] = strings.TrimSpace(line[l[1]:end])
		}
	}
	return out
}

func parseSlurmTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.Local)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// lookCLI checks that the Slurm commands can be found.
func (c *cliClient) check() error {
	for _, name := range []string{"sbatch", "scontrol", "squeue", "scancel"} {
		p := c.bin(name)
		if c.binDir != "" {
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("mode = \"cli\": %s not found: %v", p, err)
			}
			continue
		}
		if _, err := exec.LookPath(name); err != nil {
			return fmt.Errorf("mode = \"cli\" needs the Slurm commands, and %s is not on PATH (set bin_dir in the provider block)", name)
		}
	}
	return nil
}
