package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type measurement struct {
	wall time.Duration
	rss  int64 // KiB
	err  error
}

type row struct {
	n       int
	op      string
	llmops  measurement  // with the default SQLite state
	pg      *measurement // with the PostgreSQL backend
	tf      *measurement
	comment string
}

func main() {
	sizesFlag := flag.String("sizes", "", "comma-separated N values (default: 100,1000, or $BENCH_N)")
	bin := flag.String("bin", "", "directory with llmops and the provider binaries (default: ./bin)")
	skipDataset := flag.Bool("skip-dataset", os.Getenv("BENCH_SKIP_DATASET") != "", "skip the 1 GiB dataset hashing benchmark")
	skipArtifacts := flag.Bool("skip-artifacts", os.Getenv("BENCH_SKIP_ARTIFACTS") != "", "skip the large-model import, push and pull benchmark")
	onlyArtifacts := flag.Bool("artifacts", false, "run only the large-model import, push and pull benchmark")
	onlyGateway := flag.Bool("gateway", false, "run only the deployment gateway benchmark")
	skipGateway := flag.Bool("skip-gateway", os.Getenv("BENCH_SKIP_GATEWAY") != "", "skip the deployment gateway benchmark")
	flag.Parse()

	sizes := []int{100, 1000}
	if s := os.Getenv("BENCH_N"); s != "" && *sizesFlag == "" {
		*sizesFlag = s
	}
	if *sizesFlag != "" {
		sizes = nil
		for _, f := range strings.Split(*sizesFlag, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 10 {
				fatalf("invalid size %q: want a number >= 10", f)
			}
			sizes = append(sizes, n)
		}
	}
	if *onlyGateway {
		fmt.Printf("Machine: %s\n", machine())
		gatewayBench()
		return
	}
	binDir := *bin
	if binDir == "" {
		binDir = "bin"
	}
	binDir, _ = filepath.Abs(binDir)
	llmops := filepath.Join(binDir, "llmops")
	if _, err := os.Stat(llmops); err != nil {
		fatalf("%s not found: run `make build` first (or `make bench`)", llmops)
	}
	tf := os.Getenv("TERRAFORM")
	if tf == "" {
		tf, _ = exec.LookPath("terraform")
	}
	if tf == "none" { // TERRAFORM=none: the llmops half only (e.g. for BENCH_N=10000)
		tf = ""
	}
	if tf == "" {
		fmt.Println("Terraform was not found (set TERRAFORM=/path or put terraform on $PATH): running the llmops half only.")
	} else {
		out, _ := exec.Command(tf, "version").Output()
		fmt.Printf("Terraform: %s (%s)\n", strings.SplitN(string(out), "\n", 2)[0], tf)
	}
	fmt.Printf("Machine: %s\n", machine())
	if *onlyArtifacts {
		root, _ := filepath.Abs(".")
		artifactsBench(llmops, binDir, root)
		return
	}
	pg := startPostgres()
	fmt.Println()

	repeat := 1
	if r := os.Getenv("BENCH_REPEAT"); r != "" {
		if repeat, _ = strconv.Atoi(r); repeat < 1 {
			fatalf("invalid BENCH_REPEAT %q: want a number >= 1", r)
		}
	}
	var rows []row
	for _, n := range sizes {
		var runs [][]row
		for i := range repeat {
			if repeat > 1 {
				fmt.Fprintf(os.Stderr, "N=%d run %d of %d\n", n, i+1, repeat)
			}
			runs = append(runs, runSize(n, llmops, binDir, tf, pg))
		}
		rows = append(rows, medians(runs)...)
	}
	if pg != nil {
		pg.stop()
	}
	printTable(rows)
	if !*skipDataset {
		fmt.Println()
		datasetBench(llmops, binDir)
	}
	if !*skipArtifacts {
		fmt.Println()
		root, _ := filepath.Abs(".")
		artifactsBench(llmops, binDir, root)
	}
	if !*skipGateway {
		fmt.Println()
		gatewayBench()
	}
}

// medians combines repeated runs of one size: each cell is the median of
// its runs (the middle one; the upper middle for an even count), so that
// a run slowed by something else on the machine does not decide it.
func medians(runs [][]row) []row {
	if len(runs) == 1 {
		return runs[0]
	}
	out := make([]row, len(runs[0]))
	for i := range out {
		out[i] = runs[0][i]
		pick := func(get func(r row) *measurement) *measurement {
			var ms []measurement
			for _, run := range runs {
				if m := get(run[i]); m != nil {
					ms = append(ms, *m)
				}
			}
			if len(ms) == 0 {
				return nil
			}
			for _, m := range ms {
				if m.err != nil {
					return &m
				}
			}
			sort.Slice(ms, func(a, b int) bool { return ms[a].wall < ms[b].wall })
			m := ms[len(ms)/2]
			rss := make([]int64, len(ms))
			for j := range ms {
				rss[j] = ms[j].rss
			}
			sort.Slice(rss, func(a, b int) bool { return rss[a] < rss[b] })
			m.rss = rss[len(rss)/2]
			return &m
		}
		out[i].llmops = *pick(func(r row) *measurement { return &r.llmops })
		out[i].pg = pick(func(r row) *measurement { return r.pg })
		out[i].tf = pick(func(r row) *measurement { return r.tf })
	}
	return out
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

// run runs a command in dir and measures its wall time and peak RSS.
func run(dir string, env []string, name string, args ...string) measurement {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	m := measurement{wall: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.rss = ru.Maxrss
	}
	if err != nil {
		tail := out.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		m.err = fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, tail)
	}
	return m
}

func printTable(rows []row) {
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\toperation\tllmops wall\tllmops RSS\tPostgreSQL wall\tPostgreSQL RSS\tPG/SQLite\tTerraform wall\tTerraform RSS\tspeed-up\tspeed-up PG\tRSS ratio\t")
	for _, r := range rows {
		pgw, pgr, pgRatio := "-", "-", "-"
		if r.pg != nil {
			if r.pg.err != nil {
				pgw = "error"
			} else {
				pgw, pgr = secs(r.pg.wall), mib(r.pg.rss)
				pgRatio = fmt.Sprintf("%.2fx", r.pg.wall.Seconds()/r.llmops.wall.Seconds())
			}
		}
		tfw, tfr, ratio, ratioPG, rssRatio := "-", "-", "-", "-", "-"
		if r.tf != nil {
			if r.tf.err != nil {
				tfw = "error"
			} else {
				tfw = secs(r.tf.wall)
				tfr = mib(r.tf.rss)
				ratio = fmt.Sprintf("%.1fx", r.tf.wall.Seconds()/r.llmops.wall.Seconds())
				if r.pg != nil && r.pg.err == nil {
					ratioPG = fmt.Sprintf("%.1fx", r.tf.wall.Seconds()/r.pg.wall.Seconds())
				}
				rssRatio = fmt.Sprintf("%.2f", float64(r.llmops.rss)/float64(r.tf.rss))
			}
		}
		lw := secs(r.llmops.wall)
		if r.llmops.err != nil {
			lw = "error"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.n, r.op, lw, mib(r.llmops.rss), pgw, pgr, pgRatio,
			tfw, tfr, ratio, ratioPG, rssRatio)
	}
	tw.Flush()
	for _, r := range rows {
		if r.llmops.err != nil {
			fmt.Fprintf(os.Stderr, "\nllmops %s N=%d failed: %v\n", r.op, r.n, r.llmops.err)
		}
		if r.pg != nil && r.pg.err != nil {
			fmt.Fprintf(os.Stderr, "\nllmops (PostgreSQL) %s N=%d failed: %v\n", r.op, r.n, r.pg.err)
		}
		if r.tf != nil && r.tf.err != nil {
			fmt.Fprintf(os.Stderr, "\nterraform %s N=%d failed: %v\n", r.op, r.n, r.tf.err)
		}
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func mib(kib int64) string        { return fmt.Sprintf("%.0f MB", float64(kib)/1024) }

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	n := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = strings.Count(string(b), "processor\t:")
	}
	return fmt.Sprintf("%s, %d cores", cpu, n)
}
