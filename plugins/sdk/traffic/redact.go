package traffic

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Detectors are the built-in redaction detectors, by the name `redact`
// takes.
var Detectors = []string{"email", "phone", "api_key"}

// DefaultRedact is what a capture block without `redact` redacts: every
// built-in detector (`redact = []` turns them off).
var DefaultRedact = Detectors

type detector struct {
	name string
	re   *regexp.Regexp
	// keep rejects a match that is not what the detector looks for (a
	// date is not a phone number).
	keep func(string) bool
}

var builtins = map[string][]detector{
	"email": {{re: regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)}},
	"api_key": {
		{re: regexp.MustCompile(`\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{16,}`)},
		{re: regexp.MustCompile(`\bAKIA[0-9A-Z]{16}\b`)},
		{re: regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{30,}`)},
		{re: regexp.MustCompile(`\bxox[abpr]-[A-Za-z0-9\-]{10,}`)},
		{re: regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]{16,}`)},
		{re: regexp.MustCompile(`(?i)\b(?:api[_\-]?key|secret|token|password)\s*[:=]\s*["']?[^\s"']{8,}`)},
	},
	// A phone number: an optional +country code, then groups of digits
	// separated by spaces, dots, dashes or parentheses; 9 to 15 digits in
	// all (so dates and ticket numbers are left alone).
	"phone": {{re: regexp.MustCompile(`(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?)?\d{2,4}(?:[\s.\-]?\d{2,4}){2,5}`), keep: func(s string) bool {
		n := 0
		for _, c := range s {
			if c >= '0' && c <= '9' {
				n++
			}
		}
		return n >= 9 && n <= 15
	}}},
}

// Redactor replaces what its detectors match.
type Redactor struct {
	ds []detector
}

// CheckDetector reports whether name is a built-in detector.
func CheckDetector(name string) error {
	if _, ok := builtins[name]; !ok {
		return fmt.Errorf("%q is not a built-in detector; the detectors are %s", name, strings.Join(Detectors, ", "))
	}
	return nil
}

// CheckPattern reports whether a redact pattern is a valid regular
// expression (RE2 syntax) that cannot match the empty string.
func CheckPattern(p string) error {
	re, err := regexp.Compile(p)
	if err != nil {
		return err
	}
	if re.MatchString("") {
		return fmt.Errorf("%q matches the empty string", p)
	}
	return nil
}

// NewRedactor builds a redactor from built-in detector names and regular
// expressions. The detectors run in a fixed order (email, api_key, phone:
// a key's digits are not a phone number), then the patterns in order.
func NewRedactor(names, patterns []string) (*Redactor, error) {
	r := &Redactor{}
	want := map[string]bool{}
	for _, n := range names {
		if err := CheckDetector(n); err != nil {
			return nil, err
		}
		want[n] = true
	}
	for _, n := range []string{"email", "api_key", "phone"} {
		if want[n] {
			for _, d := range builtins[n] {
				d.name = n
				r.ds = append(r.ds, d)
			}
		}
	}
	for _, p := range patterns {
		if err := CheckPattern(p); err != nil {
			return nil, fmt.Errorf("redact_patterns: %v", err)
		}
		r.ds = append(r.ds, detector{name: "pattern", re: regexp.MustCompile(p)})
	}
	return r, nil
}

// Redact returns s with every match replaced by [REDACTED:<detector>]
// ([REDACTED:pattern] for the configuration's patterns).
func (r *Redactor) Redact(s string) string {
	if r == nil || s == "" {
		return s
	}
	for _, d := range r.ds {
		mark := "[REDACTED:" + d.name + "]"
		if d.keep == nil {
			s = d.re.ReplaceAllLiteralString(s, mark)
			continue
		}
		s = d.re.ReplaceAllStringFunc(s, func(m string) string {
			if d.keep(m) {
				return mark
			}
			return m
		})
	}
	return s
}

// Record redacts every text field of a record in place.
func (r *Redactor) Record(rec *Record) {
	rec.Prompt = r.Redact(rec.Prompt)
	rec.Completion = r.Redact(rec.Completion)
	rec.Correction = r.Redact(rec.Correction)
	for i := range rec.Messages {
		rec.Messages[i].Content = r.Redact(rec.Messages[i].Content)
	}
}

// Names lists the detectors a redactor runs (for messages).
func (r *Redactor) Names() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range r.ds {
		if !seen[d.name] {
			seen[d.name] = true
			out = append(out, d.name)
		}
	}
	sort.Strings(out)
	return out
}
