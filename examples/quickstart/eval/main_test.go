package main

import "testing"

func TestCompletionsURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8000":                "http://127.0.0.1:8000/v1/completions",
		"http://127.0.0.1:8000/":               "http://127.0.0.1:8000/v1/completions",
		"http://127.0.0.1:8000/v1":             "http://127.0.0.1:8000/v1/completions",
		"https://h.example/openai/v1/":         "https://h.example/openai/v1/completions",
		"http://127.0.0.1:8000/v1/completions": "http://127.0.0.1:8000/v1/completions",
	} {
		if got, err := completionsURL(in); err != nil || got != want {
			t.Errorf("completionsURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := completionsURL("localhost:8000"); err == nil {
		t.Error("URL without scheme accepted")
	}
}

func TestContinuation(t *testing.T) {
	texts := []string{"abcdef", "abcxyz", "ab"}
	o := options{promptChars: 3, completionChars: 3}
	acc, em, n, err := continuation(texts, o, func(p string) (string, error) { return "def", nil })
	if err != nil || n != 2 || em != 0.5 || acc != 0.5 {
		t.Fatalf("acc %v em %v n %d err %v", acc, em, n, err)
	}
}
