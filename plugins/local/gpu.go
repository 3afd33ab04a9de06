package local

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
)

// gpusUnmanaged means the job's CUDA_VISIBLE_DEVICES is left as the
// environment has it (resources.gpus not set).
const gpusUnmanaged = "unmanaged"

// GPU is one GPU that nvidia-smi reports.
type GPU struct {
	Index     string
	Name      string
	MemoryMiB int
}

func (g GPU) String() string { return fmt.Sprintf("%s: %s (%d MiB)", g.Index, g.Name, g.MemoryMiB) }

// listGPUs asks nvidia-smi for the host's GPUs.
func listGPUs(ctx context.Context) ([]GPU, error) {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil, fmt.Errorf("nvidia-smi is not on PATH, so this host has no usable NVIDIA GPU")
	}
	out, err := exec.CommandContext(ctx, path, "--query-gpu=index,name,memory.total", "--format=csv,noheader").Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			msg += ": " + strings.TrimSpace(string(ee.Stderr))
		}
		return nil, fmt.Errorf("nvidia-smi failed: %s", msg)
	}
	return parseGPUs(string(out)), nil
}

// parseGPUs parses `index, name, memory.total` CSV lines such as
// "0, NVIDIA A100-SXM4-40GB, 40960 MiB".
func parseGPUs(out string) []GPU {
	var gpus []GPU
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		idx := strings.TrimSpace(f[0])
		if _, err := strconv.Atoi(idx); err != nil {
			continue
		}
		mem := strings.TrimSpace(f[len(f)-1])
		mem = strings.TrimSpace(strings.TrimSuffix(mem, "MiB"))
		mib, _ := strconv.Atoi(mem)
		name := strings.TrimSpace(strings.Join(f[1:len(f)-1], ","))
		gpus = append(gpus, GPU{Index: idx, Name: name, MemoryMiB: mib})
	}
	return gpus
}

// gpusFor picks the GPUs of a job from its resources block: the
// CUDA_VISIBLE_DEVICES value ("" for gpus = 0, gpusUnmanaged when gpus is
// not set). GPUs that running jobs of this provider use are taken last.
func (m *meta) gpusFor(ctx context.Context, res cty.Value) (string, sdk.Diagnostics) {
	var d sdk.Diagnostics
	n, ok := nestedInt(res, "gpus")
	if !ok {
		return gpusUnmanaged, nil
	}
	if n == 0 {
		return "", nil
	}
	path := cty.GetAttrPath("resources").GetAttr("gpus")
	all, err := listGPUs(ctx)
	if err != nil {
		d.AttrErrorf(path, "GPUs not available", "resources.gpus = %d, but %v. Set gpus = 0 to run on the CPU.", n, err)
		return "", d
	}
	want := strings.ToLower(nestedString(res, "gpu_type"))
	var fit []GPU
	for _, g := range all {
		if want == "" || want == "any" || strings.Contains(strings.ToLower(g.Name), want) {
			fit = append(fit, g)
		}
	}
	if int64(len(fit)) < n {
		var list []string
		for _, g := range all {
			list = append(list, g.String())
		}
		have := "none"
		if len(list) > 0 {
			have = strings.Join(list, "; ")
		}
		what := "GPU" + plural(len(fit))
		if want != "" && want != "any" {
			what += fmt.Sprintf(" of type %q", want)
		}
		d.AttrErrorf(path, "Not enough GPUs", "resources.gpus = %d, but this host has %d %s. nvidia-smi reports: %s.",
			n, len(fit), what, have)
		return "", d
	}
	busy := m.runner.busyGPUs()
	sort.SliceStable(fit, func(i, j int) bool { return !busy[fit[i].Index] && busy[fit[j].Index] })
	var pick []string
	shared := 0
	for _, g := range fit[:n] {
		pick = append(pick, g.Index)
		if busy[g.Index] {
			shared++
		}
	}
	if shared > 0 {
		sdk.Logger(ctx).Warn("sharing GPUs with running jobs", "gpus", strings.Join(pick, ","), "shared", shared)
	}
	return strings.Join(pick, ","), nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
