package main

import "testing"

func TestWithoutPassword(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"postgres://ann:s3cret@db.internal:5432/llmops?sslmode=verify-full", "postgres://ann@db.internal:5432/llmops?sslmode=verify-full"},
		{"postgresql://ann@db/x", "postgresql://ann@db/x"},
		{"postgres://db/x?user=ann&password=s3cret&sslmode=require", "postgres://db/x?sslmode=require&user=ann"},
		{"host=db user=ann password=s3cret sslmode=require", "host=db user=ann sslmode=require"},
		{"host=db password = 's3 cret' user=ann", "host=db user=ann"},
		{"password=s3cret host=db", "host=db"},
		{"host=db user=ann", "host=db user=ann"},
	} {
		if got := withoutPassword(c.in); got != c.want {
			t.Errorf("withoutPassword(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
