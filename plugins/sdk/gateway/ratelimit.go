package gateway

import (
	"math"
	"sync"
	"time"
)

// limiter is a token bucket per caller: a caller may make rpm requests in
// a burst, and one more every 60/rpm seconds.
type limiter struct {
	mu      sync.Mutex
	rpm     float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*bucket{}} }

// allow takes a token for who, or says how long until one is free.
func (l *limiter) allow(who string, rpm float64, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rpm != l.rpm {
		// A new limit starts every caller afresh.
		l.rpm = rpm
		l.buckets = map[string]*bucket{}
	}
	rate := rpm / 60 // tokens per second
	b := l.buckets[who]
	if b == nil {
		if len(l.buckets) > 100000 {
			l.prune(now)
		}
		b = &bucket{tokens: rpm, last: now}
		l.buckets[who] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(rpm, b.tokens+el*rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
	return false, wait
}

// prune drops full buckets (callers idle for a minute or more).
func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rpm/60 >= l.rpm {
			delete(l.buckets, k)
		}
	}
}
