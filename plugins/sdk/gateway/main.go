package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// LockFile is held (flock) by the gateway process for as long as it runs.
const LockFile = "gateway.lock"

// Main runs a gateway process: `... __llmops_gateway DIR`, with its
// listening socket as file descriptor 3 (see package doc). It returns the
// process's exit code: 0 after SIGTERM or SIGINT (it stops accepting,
// lets requests in flight finish for up to 10 s, and exits).
func Main(args []string) int { return MainWith(args, nil) }

// MainWith is Main with the transport to backends wrapped by wrap (nil:
// as it is); see Server.WrapTransport.
func MainWith(args []string, wrap func(http.RoundTripper) http.RoundTripper) int {
	logger := log.New(os.Stderr, "gateway: ", log.LstdFlags|log.Lmicroseconds)
	if len(args) < 1 || len(args) > 2 || len(args) == 2 && args[1] != SecretsArg {
		logger.Print("usage: __llmops_gateway DIR [" + SecretsArg + "] (with the listener as fd 3)")
		return 2
	}
	dir := args[0]
	var secrets map[string]string
	if len(args) == 2 {
		sf := os.NewFile(4, "secrets")
		err := json.NewDecoder(io.LimitReader(sf, 1<<20)).Decode(&secrets)
		sf.Close()
		if err != nil {
			logger.Print("reading the secrets on fd 4: not a JSON object of strings")
			return 2
		}
	}
	lock, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		logger.Print(err)
		return 1
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		logger.Printf("another gateway runs for %s: %v", dir, err)
		return 1
	}
	lf := os.NewFile(3, "listener")
	ln, err := net.FileListener(lf)
	lf.Close()
	if err != nil {
		logger.Printf("no listener on fd 3: %v", err)
		return 2
	}
	cfg, err := ReadConfig(dir)
	if err != nil {
		logger.Print(err)
		return 1
	}
	srv, err := NewServer(cfg, logger.Printf)
	if err != nil {
		logger.Print(err)
		return 1
	}
	srv.SetSecrets(secrets)
	if wrap != nil {
		srv.WrapTransport(wrap)
	}
	hs := NewHTTPServer(srv, cfg)
	logger.Printf("serving deployment %s on %s (pid %d)", cfg.Deployment, ln.Addr(), os.Getpid())

	reload := func(why string) {
		c, err := ReadConfig(dir)
		if err != nil {
			logger.Printf("reload (%s): %v; keeping generation %d", why, err, srv.Generation())
			return
		}
		if c.Generation == srv.Generation() {
			return
		}
		if err := srv.Reload(c); err != nil {
			logger.Printf("reload (%s): %v", why, err)
		}
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastMod time.Time
	if fi, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		lastMod = fi.ModTime()
	}
	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Printf("serve: %v", err)
				return 1
			}
			return 0
		case <-tick.C:
			if fi, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil && !fi.ModTime().Equal(lastMod) {
				lastMod = fi.ModTime()
				reload("file changed")
			}
		case s := <-sigs:
			if s == syscall.SIGHUP {
				if fi, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
					lastMod = fi.ModTime()
				}
				reload("SIGHUP")
				continue
			}
			logger.Printf("%s: shutting down", s)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := hs.Shutdown(ctx)
			cancel()
			srv.Close()
			if err != nil {
				logger.Printf("shutdown: %v", err)
			}
			return 0
		}
	}
}

// NewHTTPServer wraps a gateway in an http.Server with the deadlines that
// protect it from slow clients: headers within 10 s (or ReadTimeout if
// shorter), the whole request within ReadTimeout, the response within
// RequestTimeout plus ReadTimeout; idle connections are closed after 90 s;
// headers are limited to 64 KiB.
func NewHTTPServer(h http.Handler, cfg *Config) *http.Server {
	rd := cfg.readTimeout()
	hdr := 10 * time.Second
	if rd < hdr {
		hdr = rd
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: hdr,
		ReadTimeout:       rd,
		WriteTimeout:      cfg.requestTimeout() + rd,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(discard{}, "", 0),
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
