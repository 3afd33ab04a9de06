package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

const (
	modelShards    = 16
	modelShardSize = 64 << 20 // 16 x 64 MiB = 1 GiB
	bigFileSize    = 4 << 30
)

// artifactsBench measures the artifact store on large models (issue 14):
// importing a generated 1 GiB model directory and a 4 GiB single file
// (hashing against sha256sum on the same files, and the disk space the
// import adds on the same filesystem, counted as du does), then pushing the 1 GiB model to
// the local S3 server (moto) and pulling it into an empty cache, against
// the AWS CLI's `aws s3 cp` on the same server, and pulling an already
// cached digest.
func artifactsBench(llmops, binDir, root string) {
	base, err := os.MkdirTemp("", "llmops-bench-artifacts-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(base)
	env := []string{"LLMOPS_PLUGIN_PATH=" + binDir, "NO_COLOR=1"}

	fmt.Printf("Generating a 1 GiB model (%d files of %d MiB) and a 4 GiB file in %s ...\n", modelShards, modelShardSize>>20, base)
	for i := 0; i < modelShards; i++ {
		if err := randomFile(filepath.Join(base, "ws-model", "model", fmt.Sprintf("shard-%02d.bin", i)), modelShardSize, uint64(i)); err != nil {
			fatalf("%v", err)
		}
	}
	os.WriteFile(filepath.Join(base, "ws-model", "model", "config.json"), []byte(`{"shards": 16}`), 0o644)
	if err := randomFile(filepath.Join(base, "ws-big", "big", "weights.bin"), bigFileSize, 99); err != nil {
		fatalf("%v", err)
	}

	importBench(base, env, llmops)
	os.RemoveAll(filepath.Join(base, "ws-big"))

	awsEnv, stop, err := motoEnv(root)
	if err != nil {
		fmt.Printf("\nPush and pull skipped: %v\n", err)
		return
	}
	defer stop()
	awsCLI := findAWSCLI()
	e := append(append([]string{}, env...), awsEnv...)
	ws := filepath.Join(base, "ws-model")
	id := modelID(ws, env, llmops)
	// moto is shared and noisy: two rounds, the tools taking turns, each
	// into a fresh bucket; the best of each is reported.
	var push, pull, cliPush, cliPull measurement
	best := func(cur *measurement, m measurement) {
		if m.err != nil {
			fatalf("%v", m.err)
		}
		if cur.wall == 0 || m.wall < cur.wall {
			*cur = m
		}
	}
	var cachedBest time.Duration
	var cached measurement
	for round := 0; round < 2; round++ {
		bucket := fmt.Sprintf("llmops-bench-%d", time.Now().UnixNano())
		if m := run(base, awsEnv, awsCLI, "s3", "mb", "s3://"+bucket); m.err != nil {
			fmt.Printf("\nPush and pull skipped: %v\n", m.err)
			return
		}
		cfg := fmt.Sprintf("model \"model\" {\n  source = \"file://model\"\n}\n\nartifacts {\n  url        = \"s3://%s/llmops\"\n  path_style = true\n}\n", bucket)
		os.WriteFile(filepath.Join(ws, "main.llmops.hcl"), []byte(cfg), 0o644)
		// A second machine: the same configuration, an empty cache.
		ws2 := filepath.Join(base, fmt.Sprintf("ws-pull-%d", round))
		os.MkdirAll(ws2, 0o755)
		os.WriteFile(filepath.Join(ws2, "main.llmops.hcl"), []byte(cfg), 0o644)
		cliDst := filepath.Join(base, fmt.Sprintf("awscli-pull-%d", round))
		if round == 0 {
			best(&push, run(ws, e, llmops, "artifacts", "push", id))
			best(&cliPush, run(base, awsEnv, awsCLI, "s3", "cp", "--recursive", "--quiet", filepath.Join(ws, "model"), "s3://"+bucket+"/awscli/"))
			best(&pull, run(ws2, e, llmops, "artifacts", "pull", id))
			best(&cliPull, run(base, awsEnv, awsCLI, "s3", "cp", "--recursive", "--quiet", "s3://"+bucket+"/awscli/", cliDst))
		} else {
			best(&cliPush, run(base, awsEnv, awsCLI, "s3", "cp", "--recursive", "--quiet", filepath.Join(ws, "model"), "s3://"+bucket+"/awscli/"))
			best(&push, run(ws, e, llmops, "artifacts", "push", id))
			best(&cliPull, run(base, awsEnv, awsCLI, "s3", "cp", "--recursive", "--quiet", "s3://"+bucket+"/awscli/", cliDst))
			best(&pull, run(ws2, e, llmops, "artifacts", "pull", id))
			for i := 0; i < 5; i++ {
				m := run(ws2, e, llmops, "artifacts", "pull", id)
				if m.err != nil {
					fatalf("%v", m.err)
				}
				if cachedBest == 0 || m.wall < cachedBest {
					cachedBest, cached = m.wall, m
				}
			}
		}
		// moto keeps objects in memory: give the 2 GiB back.
		run(base, awsEnv, awsCLI, "s3", "rb", "--force", "s3://"+bucket)
		os.RemoveAll(ws2)
		os.RemoveAll(cliDst)
	}
	gib := float64(modelShards*modelShardSize+14) / (1 << 30)
	fmt.Println()
	fmt.Println("| 1 GiB model on the local S3 server (moto), best of 2 | llmops | llmops peak RSS | aws s3 cp | aws peak RSS | ratio |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	fmt.Printf("| push | %s (%.3f GiB/s) | %s | %s (%.3f GiB/s) | %s | %.2fx |\n", secs(push.wall), gib/push.wall.Seconds(), mib(push.rss), secs(cliPush.wall), gib/cliPush.wall.Seconds(), mib(cliPush.rss), cliPush.wall.Seconds()/push.wall.Seconds())
	fmt.Printf("| pull into an empty cache | %s (%.3f GiB/s) | %s | %s (%.3f GiB/s) | %s | %.2fx |\n", secs(pull.wall), gib/pull.wall.Seconds(), mib(pull.rss), secs(cliPull.wall), gib/cliPull.wall.Seconds(), mib(cliPull.rss), cliPull.wall.Seconds()/pull.wall.Seconds())
	fmt.Printf("| pull of a cached digest (best of 5) | %d ms | %s | | | |\n", cachedBest.Milliseconds(), mib(cached.rss))
}

// importBench imports the generated model directory and file, timing
// sha256sum, the first plan (which hashes) and the apply (which imports),
// and measuring the disk space the import adds.
func importBench(base string, env []string, llmops string) {
	fmt.Println()
	fmt.Println("| import | sha256sum | llmops hashing (first plan) | ratio | llmops import (apply) | disk growth |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, c := range []struct{ name, src, label string }{
		{"model", "file://model", "1 GiB directory (16 files)"},
		{"big", "file://big/weights.bin", "4 GiB single file"},
	} {
		ws := filepath.Join(base, "ws-"+c.name)
		cfg := fmt.Sprintf("model %q {\n  source = %q\n}\n", c.name, c.src)
		os.WriteFile(filepath.Join(ws, "main.llmops.hcl"), []byte(cfg), 0o644)
		target := filepath.Join(ws, c.name)
		sh := []string{"-c", "find -L " + target + " -type f -print0 | sort -z | xargs -0 sha256sum > /dev/null"}
		run(base, nil, "sh", sh...) // warm the page cache for both
		sha := run(base, nil, "sh", sh...)
		if m := run(ws, env, llmops, "init"); m.err != nil {
			fatalf("llmops init: %v", m.err)
		}
		plan := run(ws, env, llmops, "plan")
		apply := run(ws, env, llmops, "apply", "-auto-approve")
		// What the import added: the blocks of the source and of .llmops
		// (store, state, caches) together, each inode once, less the
		// source's own. Other writers on the filesystem do not count.
		growth := diskUsage(target, filepath.Join(ws, ".llmops")) - diskUsage(target)
		for _, m := range []measurement{sha, plan, apply} {
			if m.err != nil {
				fatalf("%v", m.err)
			}
		}
		size := int64(modelShards * modelShardSize)
		if c.name == "big" {
			size = bigFileSize
		}
		fmt.Printf("| %s | %s | %s | %.1fx | %s | %s (%.3f%% of the data) |\n", c.label, secs(sha.wall), secs(plan.wall),
			sha.wall.Seconds()/plan.wall.Seconds(), secs(apply.wall), humanSize(growth), 100*float64(growth)/float64(size))
	}
}

// randomFile writes size pseudo-random bytes (incompressible, fast).
func randomFile(path string, size int64, seed uint64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 4<<20)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})
	buf := make([]byte, 1<<20)
	for n := int64(0); n < size; n += int64(len(buf)) {
		r.Read(buf)
		if _, err := w.Write(buf[:min(int64(len(buf)), size-n)]); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// diskUsage is the space the files under paths take (allocated blocks),
// each inode counted once, as du does: a hard link adds nothing.
func diskUsage(paths ...string) int64 {
	seen := map[[2]uint64]bool{}
	var total int64
	for _, p := range paths {
		filepath.Walk(p, func(_ string, fi os.FileInfo, err error) error {
			if err != nil {
				return nil
			}
			st, ok := fi.Sys().(*syscall.Stat_t)
			if !ok {
				return nil
			}
			k := [2]uint64{uint64(st.Dev), st.Ino}
			if !seen[k] {
				seen[k] = true
				total += st.Blocks * 512
			}
			return nil
		})
	}
	return total
}

func humanSize(n int64) string {
	switch {
	case n < 0:
		return "0 B"
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

var idRe = regexp.MustCompile(`(?m)^\s*id\s*=\s*"(sha256:[0-9a-f]{64})"`)

func modelID(ws string, env []string, llmops string) string {
	cmd := exec.Command(llmops, "state", "show", "model.model")
	cmd.Dir, cmd.Env = ws, append(os.Environ(), env...)
	out, err := cmd.Output()
	m := idRe.FindSubmatch(out)
	if err != nil || m == nil {
		fatalf("reading the model's id: %v\n%s", err, out)
	}
	return string(m[1])
}

// motoEnv finds the AWS emulator (LLMOPS_TEST_AWS_ENDPOINT_URL, or a
// running scripts/aws-test-env.sh instance), starting one when none runs;
// it returns the environment pointing the SDKs and the CLI at it.
func motoEnv(root string) ([]string, func(), error) {
	stop := func() {}
	endpoint := os.Getenv("LLMOPS_TEST_AWS_ENDPOINT_URL")
	script := filepath.Join(root, "scripts", "aws-test-env.sh")
	if endpoint == "" {
		out, err := exec.Command("bash", script, "env").Output()
		if err != nil {
			out, err = exec.Command("bash", script, "start").Output()
			if err != nil {
				return nil, stop, fmt.Errorf("no AWS emulator: %s start failed: %v", script, err)
			}
			stop = func() { exec.Command("bash", script, "stop").Run() }
		}
		if m := regexp.MustCompile(`LLMOPS_TEST_AWS_ENDPOINT_URL=(\S+)`).FindSubmatch(out); m != nil {
			endpoint = strings.Trim(string(m[1]), `'"`)
		}
	}
	if endpoint == "" {
		return nil, stop, fmt.Errorf("no AWS emulator endpoint")
	}
	return []string{"AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_EC2_METADATA_DISABLED=true"}, stop, nil
}

func findAWSCLI() string {
	if p, err := exec.LookPath("aws"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	for _, p := range []string{filepath.Join(home, ".pyenv", "shims", "aws"), "/root/.pyenv/shims/aws"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "aws"
}
