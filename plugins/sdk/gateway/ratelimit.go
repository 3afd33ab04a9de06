package gateway

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per caller (golang.org/x/time/rate): a caller
// may make rpm requests in a burst, and one more every 60/rpm seconds.
type limiter struct {
	mu      sync.Mutex
	rpm     float64
	buckets map[string]*rate.Limiter
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*rate.Limiter{}} }

// allow takes a token for who, or says how long until one is free.
func (l *limiter) allow(who string, rpm float64, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	if rpm != l.rpm {
		// A new limit starts every caller afresh.
		l.rpm = rpm
		l.buckets = map[string]*rate.Limiter{}
	}
	b := l.buckets[who]
	if b == nil {
		if len(l.buckets) > 100000 {
			l.prune(now)
		}
		b = rate.NewLimiter(rate.Limit(rpm/60), max(1, int(math.Floor(rpm))))
		l.buckets[who] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return false, wait
	}
	return true, 0
}

// prune drops full buckets (callers idle long enough to have refilled).
func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(l.buckets, k)
		}
	}
}
