package panics

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func boom() { panic("boom in a worker") }

// A panic in a group goroutine is raised again in Wait's caller, with the
// stack of the goroutine where it happened, after every goroutine ended.
func TestGroupRaisesInWaiter(t *testing.T) {
	var g Group
	var finished atomic.Int32
	// The other workers end only after the panic was caught: Wait must
	// still wait for them.
	for i := 0; i < 4; i++ {
		g.Go(func() {
			deadline := time.Now().Add(10 * time.Second)
			for !g.Panicked() && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			finished.Add(1)
		})
	}
	g.Go(boom)
	var got *Error
	func() {
		defer func() { got = From(recover()) }()
		g.Wait()
	}()
	if got == nil || got.Value != "boom in a worker" {
		t.Fatalf("Wait did not panic with the worker's panic: %#v", got)
	}
	if n := finished.Load(); n != 4 {
		t.Fatalf("Wait returned before every goroutine ended: %d of 4", n)
	}
	if !strings.Contains(string(got.Stack), "panics.boom") {
		t.Fatalf("the stack is not the worker's:\n%s", got.Stack)
	}
	if !g.Panicked() {
		t.Fatal("Panicked is false after a panic")
	}
}

func TestGroupWithoutPanic(t *testing.T) {
	var g Group
	var n atomic.Int32
	for i := 0; i < 3; i++ {
		g.Go(func() { n.Add(1) })
	}
	g.Run(func() { n.Add(1) })
	g.Wait()
	if n.Load() != 4 || g.Panicked() {
		t.Fatalf("ran %d, panicked %v", n.Load(), g.Panicked())
	}
}

// Go hands a panic to the installed handler, in the panicking goroutine.
func TestGoUsesHandler(t *testing.T) {
	got := make(chan *Error, 1)
	SetHandler(func(e *Error) { got <- e })
	defer SetHandler(nil)
	Go(func() { panic(errors.New("bad state")) })
	select {
	case e := <-got:
		if e.Error() != "panic: bad state" || errors.Unwrap(e) == nil || !strings.Contains(string(e.Stack), "TestGoUsesHandler") {
			t.Fatalf("handler got %v, stack:\n%s", e, e.Stack)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler was not called within 10s")
	}
}

func TestFrom(t *testing.T) {
	if From(nil) != nil {
		t.Fatal("From(nil) is not nil")
	}
	e := &Error{Value: 1, Stack: []byte("original")}
	if From(e) != e {
		t.Fatal("an *Error must pass through with its stack")
	}
}
