package schema

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var dayRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)d`)

// ParseDuration parses a duration as written in configurations: a Go
// duration ("90m", "1h30m", "45s", "500ms") optionally starting with a
// number of days ("1d", "2d12h", "1.5d"; a day is 24 hours). A bare number
// without a unit is an error, as is a negative duration.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var days time.Duration
	rest := in
	if m := dayRE.FindStringSubmatch(in); m != nil {
		f, err := strconv.ParseFloat(m[1], 64)
		if err != nil || f > 100000 {
			return 0, fmt.Errorf("%q: invalid number of days", s)
		}
		days = time.Duration(f * float64(24*time.Hour))
		rest = in[len(m[0]):]
		if rest == "" {
			return days, nil
		}
	}
	if _, err := strconv.ParseFloat(rest, 64); err == nil {
		return 0, fmt.Errorf("%q has no unit: write e.g. %q, %q or %q", s, rest+"s", rest+"m", rest+"h")
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write e.g. \"30m\", \"6h\", \"1h30m\" or \"1d\"", s)
	}
	if d < 0 || (days > 0 && strings.HasPrefix(rest, "-")) {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return days + d, nil
}
