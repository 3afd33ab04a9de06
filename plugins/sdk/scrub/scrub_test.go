package scrub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"plain", []string{"s3cr3t-value"}, "token=s3cr3t-value; again s3cr3t-value", "token=(sensitive); again (sensitive)"},
		{"none known", nil, "token=s3cr3t-value", "token=s3cr3t-value"},
		{"too short to hide", []string{"ab", "", "   "}, "ab cd ab", "ab cd ab"},
		{"json escaped", []string{`pa"ss\word`}, `{"k":"pa\"ss\\word"}`, `{"k":"(sensitive)"}`},
		{"go quoted with a newline", []string{"line1\nline2"}, `error: "line1\nline2" is bad`, `error: "(sensitive)" is bad`},
		{"shell single quotes", []string{`it's-secret`}, `export K='it'\''s-secret'`, `export K='(sensitive)'`},
		{"url escaped", []string{"a b&c=d"}, "GET /x?k=a+b%26c%3Dd", "GET /x?k=(sensitive)"},
		{"longest first", []string{"abcd", "abcdefgh"}, "abcdefgh abcd", "(sensitive) (sensitive)"},
		{"several", []string{"alpha-1", "beta-22"}, "alpha-1/beta-22/gamma", "(sensitive)/(sensitive)/gamma"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(tt.secrets...).String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNilSetScrubsNothing(t *testing.T) {
	var s *Set
	s.Add("whatever")
	if got := s.String("whatever"); got != "whatever" {
		t.Errorf("nil set changed the text: %q", got)
	}
	if s.Len() != 0 || s.List() != nil {
		t.Error("nil set is not empty")
	}
}

func TestErrorKeepsTheChain(t *testing.T) {
	s := New("hunter2-secret")
	base := fmt.Errorf("open /data/hunter2-secret/x: %w", fs.ErrNotExist)
	err := s.Error(base)
	if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "/data/(sensitive)/x") {
		t.Errorf("Error() = %q", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("errors.Is lost the wrapped error")
	}
	if clean := errors.New("nothing here"); s.Error(clean) != clean {
		t.Error("an error without secrets was rewrapped")
	}
}

// Every way of cutting a stream into two writes must still catch the
// secret.
func TestWriterCatchesSecretsAcrossWrites(t *testing.T) {
	secret := "tok-0123456789"
	text := "starting prog --key=" + secret + " now; echo " + secret + "\ntail"
	want := strings.ReplaceAll(text, secret, Mask)
	for cut1 := 0; cut1 <= len(text); cut1++ {
		for _, cut2 := range []int{cut1, min(cut1+3, len(text)), len(text)} {
			var out bytes.Buffer
			w := NewWriter(&out, New(secret))
			for _, part := range []string{text[:cut1], text[cut1:cut2], text[cut2:]} {
				if n, err := w.Write([]byte(part)); err != nil || n != len(part) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Fatalf("cut at %d,%d: got %q, want %q", cut1, cut2, out.String(), want)
			}
		}
	}
}

func TestWriterHoldsBackOnlyAPossibleSecret(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, New("secret-value"))
	w.Write([]byte("progress 10% sec"))
	if out.String() != "progress 10% " {
		t.Errorf("written so far %q: only the tail that may start the secret may wait", out.String())
	}
	w.Write([]byte("ond line\n"))
	if out.String() != "progress 10% second line\n" {
		t.Errorf("written %q", out.String())
	}
	if _, err := w.Write(nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}

func TestWriterSeesSecretsAddedLater(t *testing.T) {
	var out bytes.Buffer
	set := New()
	w := NewWriter(&out, set)
	w.Write([]byte("before: late-secret\n"))
	set.Add("late-secret")
	w.Write([]byte("after: late-secret\n"))
	w.Close()
	if got := out.String(); got != "before: late-secret\nafter: (sensitive)\n" {
		t.Errorf("got %q", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	set := New()
	var out bytes.Buffer
	w := NewWriter(&out, set)
	done := make(chan bool)
	for i := range 4 {
		go func() {
			for j := range 200 {
				set.Add(fmt.Sprintf("secret-%d-%d", i, j))
				w.Write([]byte(fmt.Sprintf("line secret-%d-%d\n", i, j)))
				_ = set.String("x")
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
	w.Close()
	if strings.Contains(out.String(), "secret-") {
		t.Error("a secret added before its write was not scrubbed")
	}
}

func TestDigest(t *testing.T) {
	s := New("tok-secret-1234")
	a, b := s.DigestIfSecret("salt1", "tok-secret-1234"), s.DigestIfSecret("salt1", "tok-secret-1234")
	if a != b || !IsDigest(a) || strings.Contains(a, "tok-secret") {
		t.Errorf("digests %q %q", a, b)
	}
	if c := s.DigestIfSecret("salt2", "tok-secret-1234"); c == a {
		t.Error("the salt does not change the digest")
	}
	if got := s.DigestIfSecret("salt1", "public"); got != "public" {
		t.Errorf("a public value became %q", got)
	}
	if got := s.DigestIfSecret("salt1", a); got != a {
		t.Error("a digest was digested again")
	}
}

// Adding many secrets one by one costs one build of the replacer, not one
// per secret (a state with thousands of sealed values adds them so).
func BenchmarkAddManyThenScrub(b *testing.B) {
	for range b.N {
		s := New()
		for i := range 10000 {
			s.Add(fmt.Sprintf("secret-value-%06d", i))
		}
		if s.String("x secret-value-000042 y") != "x (sensitive) y" {
			b.Fatal("not scrubbed")
		}
	}
}

// A writer with many secrets stays cheap for line-oriented output.
func BenchmarkWriterManySecrets(b *testing.B) {
	s := New()
	for i := range 2000 {
		s.Add(fmt.Sprintf("secret-value-%06d", i))
	}
	w := NewWriter(io.Discard, s)
	line := []byte("  + id = (known after apply) and some text that is not secret at all\n")
	partial := []byte("  + value = \"sec")
	b.ResetTimer()
	for range b.N {
		w.Write(line)
		w.Write(partial)
	}
}
