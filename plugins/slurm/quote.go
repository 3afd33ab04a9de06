package slurm

import (
	"fmt"
	"regexp"
	"strings"
)

// shellQuote quotes s as one word for bash: single quotes around it, with
// each embedded single quote written as quote, backslash, quote, quote
// (close, escaped quote, reopen). Inside single quotes bash interprets
// nothing ($, `, \, newlines, ; and glob characters stay literal), so any
// string, hostile or not, reaches the command as exactly itself. NUL bytes
// cannot be passed to a program at all; they are refused by checkWord
// before a script is generated.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if safeWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// safeWord matches words that need no quoting at all.
var safeWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellWords quotes each element of argv and joins them with spaces.
func shellWords(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// envName matches a portable environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkWord refuses what no quoting can carry: a NUL byte.
func checkWord(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s contains a NUL byte, which no program can receive", what)
	}
	return nil
}

// checkEnv refuses an environment that cannot be exported as written.
func checkEnv(env map[string]string) error {
	for k, v := range env {
		if !envName.MatchString(k) {
			return fmt.Errorf("environment variable name %q is not a valid name (letters, digits and _, not starting with a digit)", k)
		}
		if err := checkWord("the value of "+k, v); err != nil {
			return err
		}
	}
	return nil
}
