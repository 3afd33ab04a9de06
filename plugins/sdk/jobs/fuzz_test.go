package jobs_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/llmops/llmops/plugins/sdk/jobs"
)

// FuzzParseMetrics: any input either fails cleanly or gives finite numbers.
func FuzzParseMetrics(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"loss": NaN}`, `{"s":"\"NaN"}`, `[]`, `{"a":{"b":1}}`, `{"a":1e999}`, "\xef\xbb\xbf{}", `{"a":-0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, _, err := jobs.ParseMetrics(data)
		if err != nil {
			return
		}
		for k, v := range m {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite value for %q", k)
			}
		}
	})
}

// FuzzLatestMetrics: any file content gives a valid line or none, never a
// panic.
func FuzzLatestMetrics(f *testing.F) {
	for _, s := range []string{"{\"step\":1}\n{\"step\":2", "\n\n\n", "{\"a\":1}\r\n{", "junk\n{\"x\":NaN,\"y\":1}\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "metrics.jsonl")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		line, m, err := jobs.LatestMetrics(p)
		if err != nil {
			t.Fatal(err)
		}
		if (line == "") != (m == nil) {
			t.Fatalf("line %q with metrics %v", line, m)
		}
		if line != "" {
			if again, ok := jobs.ParseMetricsLine([]byte(line)); !ok || len(again) != len(m) {
				t.Fatalf("the returned line does not parse: %q", line)
			}
		}
	})
}
