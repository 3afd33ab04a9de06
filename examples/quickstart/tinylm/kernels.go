package tinylm

// Small dense kernels, unrolled by four with bounds-check-free inner loops.
// The summation order is fixed, so results are deterministic.

// axpy computes y += a*x.
func axpy(a float32, x, y []float32) {
	y = y[:len(x)]
	n := len(x) &^ 3
	for i := 0; i < n; i += 4 {
		x4 := x[i : i+4 : i+4]
		y4 := y[i : i+4 : i+4]
		y4[0] += a * x4[0]
		y4[1] += a * x4[1]
		y4[2] += a * x4[2]
		y4[3] += a * x4[3]
	}
	for i := n; i < len(x); i++ {
		y[i] += a * x[i]
	}
}

// axpyDot computes g += a*d and returns w·d.
func axpyDot(a float32, d, g, w []float32) float32 {
	g = g[:len(d)]
	w = w[:len(d)]
	n := len(d) &^ 3
	var s0, s1, s2, s3 float32
	for i := 0; i < n; i += 4 {
		d4 := d[i : i+4 : i+4]
		g4 := g[i : i+4 : i+4]
		w4 := w[i : i+4 : i+4]
		g4[0] += a * d4[0]
		g4[1] += a * d4[1]
		g4[2] += a * d4[2]
		g4[3] += a * d4[3]
		s0 += w4[0] * d4[0]
		s1 += w4[1] * d4[1]
		s2 += w4[2] * d4[2]
		s3 += w4[3] * d4[3]
	}
	for i := n; i < len(d); i++ {
		g[i] += a * d[i]
		s0 += w[i] * d[i]
	}
	return (s0 + s1) + (s2 + s3)
}
