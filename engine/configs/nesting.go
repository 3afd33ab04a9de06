package configs

import (
	"fmt"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// MaxNesting is how deep a configuration file may nest: brackets, braces,
// parentheses, quoted and heredoc templates and their interpolations,
// `? :` chains and runs of unary operators, counted together.
// Configurations written by people stay far below it; generated ones that
// go past it can build the value from locals or read it with
// jsondecode(file(...)).
const MaxNesting = 256

// CheckNesting refuses src when it nests deeper than MaxNesting, before
// any HCL parser sees it. hclsyntax and hclwrite parse nesting by
// recursion: 100,000 levels of brackets exhaust the goroutine's stack,
// which is a fatal error of the Go runtime, not a panic, so it cannot be
// recovered and used to end llmops with exit code 2 and a runtime trace.
//
// The scan is a small lexer (comments, quoted and heredoc templates,
// interpolations, escapes), linear in the file and much cheaper than
// hclsyntax's own lexer, so it costs nothing measurable on large
// configurations. It only measures depth: a file it accepts may still
// have syntax errors, which the parser reports. A lone expression (a -var
// value) is checked the same way.
func CheckNesting(src []byte, filename string) hcl.Diagnostics {
	return checkNesting(src, filename, false)
}

// CheckTemplateNesting is CheckNesting for a template file (templatefile),
// which starts as template text rather than as configuration.
func CheckTemplateNesting(src []byte, filename string) hcl.Diagnostics {
	return checkNesting(src, filename, true)
}

func checkNesting(src []byte, filename string, template bool) hcl.Diagnostics {
	s := nestScanner{src: src, line: 1, col: 1}
	s.stack = []nestFrame{{kind: frameRoot}}
	if template {
		// Template text like a heredoc's, with no closing marker.
		s.stack = append(s.stack, nestFrame{kind: frameHeredoc})
	}
	for s.i < len(s.src) {
		if pos, ok := s.step(); !ok {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Configuration nested too deeply",
				Detail: fmt.Sprintf("This file nests brackets, braces, parentheses, templates or operators more than %d levels deep here, "+
					"which llmops refuses before parsing (a parser this deep could exhaust its stack). "+
					"Flatten the expression: build it in steps with locals, or keep generated data in a JSON file read with jsondecode(file(\"...\")).", MaxNesting),
				Subject: &hcl.Range{Filename: filename, Start: pos, End: hcl.Pos{Line: pos.Line, Column: pos.Column + 1, Byte: pos.Byte + 1}},
			}}
		}
	}
	return nil
}

type frameKind uint8

const (
	frameRoot    frameKind = iota
	frameBracket           // ( [ {
	frameInterp            // ${ or %{ inside a template
	frameQuoted            // "..."
	frameHeredoc           // <<EOF ... EOF
)

type nestFrame struct {
	kind frameKind
	// questions counts what is open at this level without a frame of its
	// own: the `?` of a conditional chain in an expression, the `%{ if }`
	// and `%{ for }` directives in a template.
	questions int
	// marker ends a heredoc.
	marker string
}

type nestScanner struct {
	src       []byte
	i         int
	line, col int
	stack     []nestFrame
	questions int // sum of every frame's questions
	unary     int // length of the current run of ! and -
}

// depth is the nesting at the scanner's position.
func (s *nestScanner) depth() int { return len(s.stack) - 1 + s.questions + s.unary }

func (s *nestScanner) pos() hcl.Pos { return hcl.Pos{Line: s.line, Column: s.col, Byte: s.i} }

// advance moves past n bytes, keeping line and column (columns count
// characters, as HCL's do).
func (s *nestScanner) advance(n int) {
	for k := 0; k < n && s.i < len(s.src); k++ {
		c := s.src[s.i]
		s.i++
		switch {
		case c == '\n':
			s.line++
			s.col = 1
		case c < utf8.RuneSelf || utf8.RuneStart(c):
			s.col++
		}
	}
}

func (s *nestScanner) has(prefix string) bool {
	return len(s.src)-s.i >= len(prefix) && string(s.src[s.i:s.i+len(prefix)]) == prefix
}

func (s *nestScanner) push(f nestFrame) bool {
	s.stack = append(s.stack, f)
	return s.depth() <= MaxNesting
}

func (s *nestScanner) pop() {
	top := s.stack[len(s.stack)-1]
	s.questions -= top.questions
	s.stack = s.stack[:len(s.stack)-1]
}

// step scans one token's worth of input; false (with the position) when
// the nesting there is too deep.
func (s *nestScanner) step() (hcl.Pos, bool) {
	switch s.stack[len(s.stack)-1].kind {
	case frameQuoted, frameHeredoc:
		return s.stepTemplate()
	}
	return s.stepExpr()
}

func (s *nestScanner) stepExpr() (hcl.Pos, bool) {
	top := &s.stack[len(s.stack)-1]
	c := s.src[s.i]
	at := s.pos()
	if c != '!' && c != '-' && c != ' ' && c != '\t' && c != '\r' {
		s.unary = 0
	}
	switch c {
	case ' ', '\t', '\r':
	case '#':
		s.skipPast("\n", false)
		return at, true
	case '/':
		if s.has("//") {
			s.skipPast("\n", false)
			return at, true
		}
		if s.has("/*") {
			s.advance(2)
			s.skipPast("*/", true)
			return at, true
		}
	case '\n', ',':
		s.resetQuestions(top)
	case '!', '-':
		s.unary++
		s.advance(1)
		return at, s.depth() <= MaxNesting
	case '?':
		top.questions++
		s.questions++
		s.advance(1)
		return at, s.depth() <= MaxNesting
	case '(', '[', '{':
		s.advance(1)
		return at, s.push(nestFrame{kind: frameBracket})
	case ')', ']', '}':
		if top.kind == frameBracket || (top.kind == frameInterp && c == '}') {
			s.pop()
		}
	case '"':
		s.advance(1)
		return at, s.push(nestFrame{kind: frameQuoted})
	case '<':
		if !s.has("<<") {
			break
		}
		if marker, n := s.heredocStart(); n > 0 {
			s.advance(n)
			return at, s.push(nestFrame{kind: frameHeredoc, marker: marker})
		}
	default:
		if c >= utf8.RuneSelf {
			break
		}
		// A run of bytes that open or close nothing, in one go.
		j := s.i + 1
		for j < len(s.src) && plainExprByte(s.src[j]) {
			j++
		}
		s.col += j - s.i // plain bytes are ASCII: one column each
		s.i = j
		return at, true
	}
	s.advance(1)
	return at, true
}

// plainExprByte reports whether an expression byte needs no attention
// from the scanner: ASCII letters, digits and harmless punctuation.
func plainExprByte(c byte) bool {
	return isIdentByte(c) || c == '.' || c == '=' || c == ':' || c == '*' || c == '+' || c == '>' || c == '&' || c == '|' || c == '%'
}

func (s *nestScanner) resetQuestions(top *nestFrame) {
	s.questions -= top.questions
	top.questions = 0
}

// heredocStart recognises <<ID or <<-ID followed by a newline and
// returns the marker and the length of the opener, newline included.
func (s *nestScanner) heredocStart() (string, int) {
	j := s.i + 2
	if j < len(s.src) && s.src[j] == '-' {
		j++
	}
	start := j
	for j < len(s.src) && (isIdentByte(s.src[j]) || (j > start && s.src[j] == '-')) {
		j++
	}
	if j == start || isDigit(s.src[start]) {
		return "", 0
	}
	marker := string(s.src[start:j])
	if j < len(s.src) && s.src[j] == '\r' {
		j++
	}
	if j >= len(s.src) || s.src[j] != '\n' {
		return "", 0
	}
	return marker, j + 1 - s.i
}

func (s *nestScanner) stepTemplate() (hcl.Pos, bool) {
	top := s.stack[len(s.stack)-1]
	at := s.pos()
	if top.kind == frameHeredoc && top.marker != "" && (s.i == 0 || s.src[s.i-1] == '\n') {
		if n := s.heredocEnd(top.marker); n > 0 {
			s.advance(n)
			s.pop()
			return at, true
		}
	}
	c := s.src[s.i]
	switch {
	case s.has("$${") || s.has("%%{"):
		s.advance(3)
	case s.has("${"):
		s.advance(2)
		return at, s.push(nestFrame{kind: frameInterp})
	case s.has("%{"):
		s.advance(2)
		s.directive()
		return at, s.push(nestFrame{kind: frameInterp})
	case top.kind == frameQuoted && c == '\\':
		s.advance(2)
	case top.kind == frameQuoted && (c == '"' || c == '\n'):
		// A newline ends an unterminated string: the parser reports it.
		s.pop()
		s.advance(1)
	case c < utf8.RuneSelf && c != '\n':
		// Literal text, in one go.
		j := s.i + 1
		for j < len(s.src) && s.src[j] < utf8.RuneSelf && !specialTemplateByte(s.src[j]) {
			j++
		}
		s.col += j - s.i
		s.i = j
	default:
		s.advance(1)
	}
	return at, true
}

// specialTemplateByte reports whether a template byte may start
// something the scanner must see: an interpolation or directive, an
// escape, the end of a string or of a line.
func specialTemplateByte(c byte) bool {
	return c == '$' || c == '%' || c == '\\' || c == '"' || c == '\n'
}

// directive counts a template directive that opens (if, for) or closes
// (endif, endfor) a nested part of the template; the scanner is just
// past its "%{".
func (s *nestScanner) directive() {
	j := s.i
	if j < len(s.src) && s.src[j] == '~' {
		j++
	}
	for j < len(s.src) && (s.src[j] == ' ' || s.src[j] == '\t') {
		j++
	}
	k := j
	for k < len(s.src) && isIdentByte(s.src[k]) {
		k++
	}
	top := &s.stack[len(s.stack)-1]
	switch string(s.src[j:k]) {
	case "if", "for":
		top.questions++
		s.questions++
	case "endif", "endfor":
		if top.questions > 0 {
			top.questions--
			s.questions--
		}
	}
}

// heredocEnd returns the length of the heredoc's closing line at the
// scanner's position (optionally indented), or 0.
func (s *nestScanner) heredocEnd(marker string) int {
	j := s.i
	for j < len(s.src) && (s.src[j] == ' ' || s.src[j] == '\t') {
		j++
	}
	if len(s.src)-j < len(marker) || string(s.src[j:j+len(marker)]) != marker {
		return 0
	}
	j += len(marker)
	if j < len(s.src) && s.src[j] == '\r' {
		j++
	}
	if j < len(s.src) && s.src[j] != '\n' {
		return 0
	}
	return j - s.i
}

// skipPast advances to the end of the next occurrence of end (or the end
// of the input); with inclusive false it stops before it.
func (s *nestScanner) skipPast(end string, inclusive bool) {
	for s.i < len(s.src) && !s.has(end) {
		s.advance(1)
	}
	if inclusive {
		s.advance(len(end))
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
