package tinylm

// RNG is a small deterministic pseudo-random generator (SplitMix64). It is
// used instead of math/rand so that initialisation, shuffling and sampling
// are identical across Go versions and platforms.
type RNG struct{ s uint64 }

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG { return &RNG{s: seed} }

// DeriveSeed mixes a seed with a stream number (e.g. an epoch) so that
// independent streams can be restarted without replaying earlier ones.
func DeriveSeed(seed, stream uint64) uint64 {
	r := RNG{s: seed ^ (stream * 0xd1342543de82ef95)}
	r.Uint64()
	return r.Uint64()
}

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Float64 returns a uniform number in [0, 1).
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Intn returns a uniform integer in [0, n).
func (r *RNG) Intn(n int) int {
	if n <= 0 {
		return 0
	}
	return int((r.Uint64() >> 1) % uint64(n))
}

// Norm returns an approximately standard-normal number (Irwin-Hall sum of 12
// uniforms), computed with plain arithmetic only.
func (r *RNG) Norm() float64 {
	s := 0.0
	for i := 0; i < 12; i++ {
		s += r.Float64()
	}
	return s - 6
}

// Shuffle permutes the first n elements using swap (Fisher-Yates).
func (r *RNG) Shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.Intn(i+1))
	}
}
