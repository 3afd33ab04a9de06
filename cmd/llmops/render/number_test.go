package render

import (
	"math/big"
	"testing"
)

func TestNumberText(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{2.2749999999999995, "2.27"},      // a monitor's measurement
		{0.012345678901234567, "0.01235"}, // an error rate
		{1234.5700000000002, "1234.57"},
		{1234.5679, "1234.5679"},
		{-2.2749999999999995, "-2.27"},
		{0.0002, "0.0002"}, // as written in configuration: exact
		{0.1, "0.1"},
		{42, "42"},
		{1e21, "1000000000000000000000"},
		{0.30000000000000004, "0.3"},
	} {
		if got := NumberText(big.NewFloat(tc.in)); got != tc.want {
			t.Errorf("NumberText(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
