package schema

import (
	"regexp"
	"sort"
)

// PlaceholderRE matches a template placeholder: `{{name}}` or `{{ name }}`,
// name being letters, digits, `_`, `-` and `.`, starting with a letter or `_`.
var PlaceholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}`)

// Placeholders returns the distinct placeholder names of a prompt template,
// sorted.
func Placeholders(template string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range PlaceholderRE.FindAllStringSubmatch(template, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

// CompareVariables compares the declared variables with a template's
// placeholders: undeclared are placeholders that are not declared (an
// error), unused are declared variables the template does not use.
func CompareVariables(declared, placeholders []string) (undeclared, unused []string) {
	d := map[string]bool{}
	for _, v := range declared {
		d[v] = true
	}
	p := map[string]bool{}
	for _, v := range placeholders {
		p[v] = true
		if !d[v] {
			undeclared = append(undeclared, v)
		}
	}
	for _, v := range declared {
		if !p[v] {
			unused = append(unused, v)
		}
	}
	sort.Strings(undeclared)
	sort.Strings(unused)
	return undeclared, unused
}
