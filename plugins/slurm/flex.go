package slurm

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// flexInt decodes the integers of every slurmrestd API version: a plain
// number, a numeric string, or an object {"set": true, "infinite": false,
// "number": n} (v0.0.39 and later). Unset, infinite and null read as 0.
type flexInt struct{ N int64 }

func (f *flexInt) UnmarshalJSON(b []byte) error {
	f.N = 0
	s := strings.TrimSpace(string(b))
	switch {
	case s == "null" || s == "":
		return nil
	case s[0] == '{':
		var o struct {
			Set      *bool           `json:"set"`
			Infinite bool            `json:"infinite"`
			Number   json.RawMessage `json:"number"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		if (o.Set != nil && !*o.Set) || o.Infinite || len(o.Number) == 0 {
			return nil
		}
		return f.UnmarshalJSON(o.Number)
	case s[0] == '"':
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		n, err := strconv.ParseInt(strings.TrimSpace(str), 10, 64)
		if err == nil {
			f.N = n
		}
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil
	}
	f.N = int64(n)
	return nil
}

// flexState decodes a state that is a string (v0.0.38, v0.0.39) or a list
// of words (v0.0.40 and later: the base state, then flags).
type flexState struct {
	S   string
	All []string
}

func (f *flexState) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		f.S, f.All = s, []string{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return nil
	}
	f.All = l
	if len(l) > 0 {
		f.S = l[0]
	}
	return nil
}

// decodeExit reads a job's exit code: a wait status (v0.0.38: 768 is exit
// 3, 9 is SIGKILL) or an object {"return_code": ..., "signal":
// {"signal_id": ...}} (v0.0.39 and later).
func decodeExit(raw json.RawMessage) (code, signal int) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, 0
	}
	if s[0] == '{' {
		var o struct {
			ReturnCode flexInt `json:"return_code"`
			Signal     struct {
				ID flexInt `json:"signal_id"`
			} `json:"signal"`
		}
		if json.Unmarshal(raw, &o) == nil {
			return int(o.ReturnCode.N), int(o.Signal.ID.N)
		}
		return 0, 0
	}
	var f flexInt
	_ = f.UnmarshalJSON(raw)
	ws := int(f.N)
	if ws&0x7f != 0 {
		return 0, ws & 0x7f
	}
	return (ws >> 8) & 0xff, 0
}

var gresRE = regexp.MustCompile(`^gpu(?::([^:(]+))?:(\d+)`)

// parseGres reads a node's GPUs from its Gres and GresUsed strings, e.g.
// "gpu:2", "gpu:a100:4(S:0-1),gpu:v100:2" and "gpu:a100:1(IDX:0),gpu:v100:0(IDX:N/A)".
func parseGres(gres, used string) []gpuCount {
	var out []gpuCount
	idx := map[string]int{}
	for _, item := range splitGres(gres) {
		m := gresRE.FindStringSubmatch(item)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		if i, ok := idx[m[1]]; ok {
			out[i].Total += n
			continue
		}
		idx[m[1]] = len(out)
		out = append(out, gpuCount{Type: m[1], Total: n})
	}
	for _, item := range splitGres(used) {
		m := gresRE.FindStringSubmatch(item)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		if i, ok := idx[m[1]]; ok {
			out[i].Used += n
		} else if m[1] == "" && len(out) == 1 {
			out[0].Used += n
		}
	}
	return out
}

// splitGres splits a GRES list at the commas that are not inside
// parentheses ("gpu:a100:1(IDX:0,2),gpu:v100:0").
func splitGres(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" && rest != "(null)" && rest != "N/A" {
		out = append(out, rest)
	}
	return out
}
