package panics

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// Error is a recovered panic: its value and the stack of the goroutine
// that panicked.
type Error struct {
	Value any
	Stack []byte
}

func (e *Error) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *Error) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// From turns a value returned by recover into an *Error, taking the
// stack of the calling goroutine (call it in the deferred function, where
// that stack still holds the panicking frames). An *Error passes through
// with its own stack, so a panic raised again by Group.Wait keeps the
// stack of the goroutine where it happened. From(nil) is nil.
func From(r any) *Error {
	switch v := r.(type) {
	case nil:
		return nil
	case *Error:
		return v
	}
	return &Error{Value: r, Stack: debug.Stack()}
}

// Group runs goroutines that its caller waits for. A panic in one is
// caught there, and Wait panics with it (*Error) in the caller.
type Group struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	first *Error
}

// Go runs f in a new goroutine of the group.
func (g *Group) Go(f func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer g.catch()
		f()
	}()
}

// Run runs f in the calling goroutine, catching a panic as Go does; it
// lets a pool of workers of its own report panics through the group.
func (g *Group) Run(f func()) {
	defer g.catch()
	f()
}

func (g *Group) catch() {
	if e := From(recover()); e != nil {
		g.mu.Lock()
		if g.first == nil {
			g.first = e
		}
		g.mu.Unlock()
	}
}

// Panicked reports whether a goroutine of the group has panicked, so that
// a loop starting more of them can stop.
func (g *Group) Panicked() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.first != nil
}

// Wait waits for every goroutine of the group, then panics with the first
// panic caught, if any.
func (g *Group) Wait() {
	g.wg.Wait()
	g.mu.Lock()
	e := g.first
	g.mu.Unlock()
	if e != nil {
		panic(e)
	}
}

var (
	handlerMu sync.Mutex
	handler   func(*Error)
)

// SetHandler installs what Go does with a panic: the CLI's reports it,
// releases the state lock and exits 1. The handler must not return
// control to the panicking goroutine's work; it normally exits. Without a
// handler Go lets the panic crash the process, as Go would.
func SetHandler(h func(*Error)) {
	handlerMu.Lock()
	handler = h
	handlerMu.Unlock()
}

// Go runs f in a new goroutine that nobody waits for; a panic in f goes
// to the handler installed with SetHandler.
func Go(f func()) {
	go func() {
		defer func() {
			e := From(recover())
			if e == nil {
				return
			}
			handlerMu.Lock()
			h := handler
			handlerMu.Unlock()
			if h == nil {
				panic(e)
			}
			h(e)
		}()
		f()
	}()
}
