package main

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const (
	datasetFiles    = 10000
	datasetFileSize = 1 << 30 / datasetFiles // 1 GiB in all
)

// datasetBench hashes a generated 1 GiB dataset of 10,000 files with
// llmops (the first plan of a configuration that declares it) and with
// sha256sum over the same files, then times a no-op plan over it, which
// must not read file contents again (digests cached by path, size, mtime
// and inode).
func datasetBench(llmops, binDir string) {
	base, err := os.MkdirTemp("", "llmops-bench-dataset-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(base)
	dir := filepath.Join(base, "corpus")
	fmt.Printf("Generating %d files of %d KiB (1 GiB) in %s ...\n", datasetFiles, datasetFileSize>>10, dir)
	if err := generate(dir); err != nil {
		fatalf("%v", err)
	}
	// Warm the page cache identically for both tools.
	shaArgs := []string{"-c", "cd " + dir + " && find . -type f -print0 | sort -z | xargs -0 sha256sum > /dev/null"}
	run(base, nil, "sh", shaArgs...)
	sha := run(base, nil, "sh", shaArgs...)
	if sha.err != nil {
		fatalf("sha256sum: %v", sha.err)
	}
	// A directory of files is an artifact tree: declared as a model (a
	// sharded checkpoint looks like this), it is hashed file by file.
	cfg := `model "corpus" {
  source = "file://corpus"
}
`
	if err := os.WriteFile(filepath.Join(base, "main.llmops.hcl"), []byte(cfg), 0o644); err != nil {
		fatalf("%v", err)
	}
	env := []string{"LLMOPS_PLUGIN_PATH=" + binDir, "NO_COLOR=1"}
	if m := run(base, env, llmops, "init"); m.err != nil {
		fatalf("llmops init: %v", m.err)
	}
	first := run(base, env, llmops, "plan")
	apply := run(base, env, llmops, "apply", "-auto-approve")
	noop := run(base, env, llmops, "plan", "-detailed-exitcode")
	for _, m := range []measurement{first, apply, noop} {
		if m.err != nil {
			fmt.Printf("llmops failed: %v\n", m.err)
			return
		}
	}
	gib := 1.0
	fmt.Printf("%-44s %8s %10s\n", "dataset (1 GiB, 10,000 files)", "wall", "GiB/s")
	fmt.Printf("%-44s %8s %10.2f\n", "sha256sum (sequential, page cache warm)", secs(sha.wall), gib/sha.wall.Seconds())
	fmt.Printf("%-44s %8s %10.2f\n", "llmops first plan (hashes every file)", secs(first.wall), gib/first.wall.Seconds())
	fmt.Printf("%-44s %8s\n", "llmops apply (imports into the artifact store)", secs(apply.wall))
	fmt.Printf("%-44s %8s\n", "llmops no-op plan (digests cached)", secs(noop.wall))
	fmt.Printf("llmops hashing throughput: %.0f%% of sha256sum's (target >= 80%%); cached no-op plan %s (target < 1 s)\n",
		100*sha.wall.Seconds()/first.wall.Seconds(), secs(noop.wall))
}

func generate(dir string) error {
	rng := rand.New(rand.NewSource(1))
	buf := make([]byte, datasetFileSize)
	start := time.Now()
	for i := 0; i < datasetFiles; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("shard-%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
		}
		rng.Read(buf)
		f, err := os.Create(filepath.Join(sub, fmt.Sprintf("part-%05d.txt", i)))
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		w.Write(buf)
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	exec.Command("sync").Run()
	fmt.Printf("generated in %s\n", secs(time.Since(start)))
	return nil
}
