package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Environment variables of the plugin side.
const (
	// EnvDebug, set to 1 (or the -debug flag), makes a provider run in
	// debug mode: it serves on its own, prints a LLMOPS_REATTACH_PROVIDERS
	// line and waits for llmops to attach (start it under a debugger).
	EnvDebug = "LLMOPS_PROVIDER_DEBUG"
	// EnvLogLevel is the level the provider logs at (trace, debug, info,
	// warn, error). Start sets it to the host logger's level so the provider
	// does not format lines the host would drop.
	EnvLogLevel = "LLMOPS_PROVIDER_LOG_LEVEL"
)

// ServeOption configures Serve.
type ServeOption func(*serveConfig)

type serveConfig struct {
	typ    string
	logger hclog.Logger
	logOut io.Writer
	debug  bool
	out    io.Writer
	ctx    context.Context
	// protocolVersion overrides protocol.Version (tests of the mismatch message).
	protocolVersion int
}

// WithProtocolVersion makes the provider offer another protocol version.
// It exists for tests of version negotiation; real providers never use it.
func WithProtocolVersion(v int) ServeOption { return func(c *serveConfig) { c.protocolVersion = v } }

// WithType names the provider type ("null") for the debug reattach line.
// By default it comes from the executable's name, llmops-provider-<type>.
func WithType(typ string) ServeOption { return func(c *serveConfig) { c.typ = typ } }

// WithLogger replaces the plugin-side logger. The default writes JSON lines
// to stderr, which go-plugin parses and forwards to the host's logger.
func WithLogger(l hclog.Logger) ServeOption { return func(c *serveConfig) { c.logger = l } }

// WithLogOutput makes the default plugin-side logger (and the debug mode's)
// write to w instead of stderr; w must pass what it is given on to stderr
// (sdk.Serve gives a writer that masks sensitive values).
func WithLogOutput(w io.Writer) ServeOption { return func(c *serveConfig) { c.logOut = w } }

// WithDebug forces debug mode on or off, overriding the environment and
// the -debug flag.
func WithDebug(on bool) ServeOption { return func(c *serveConfig) { c.debug = on } }

// withDebugContext is for tests: debug mode stops when ctx ends and prints
// the reattach line to out.
func withDebugContext(ctx context.Context, out io.Writer) ServeOption {
	return func(c *serveConfig) { c.ctx, c.out, c.debug = ctx, out, true }
}

// NewLogger returns the plugin-side logger Serve installs as hclog's
// default: JSON lines on stderr at the level of $LLMOPS_PROVIDER_LOG_LEVEL
// (trace when unset). go-plugin forwards each line to the host's logger.
func NewLogger() hclog.Logger {
	return NewLoggerTo(os.Stderr)
}

// NewLoggerTo is NewLogger writing to w instead of stderr (sdk.Serve gives
// it a writer that masks sensitive values).
func NewLoggerTo(w io.Writer) hclog.Logger {
	level := hclog.LevelFromString(os.Getenv(EnvLogLevel))
	if level == hclog.NoLevel {
		level = hclog.Trace
	}
	return hclog.New(&hclog.LoggerOptions{
		Level:      level,
		Output:     w,
		JSONFormat: true,
	})
}

// Serve serves p from a provider executable until llmops ends the process.
// It returns only in debug mode, once interrupted.
//
// In debug mode ($LLMOPS_PROVIDER_DEBUG=1 or the -debug flag) the provider
// is not started by llmops: it listens on its own, prints a line such as
//
//	LLMOPS_REATTACH_PROVIDERS='{"null":{"Protocol":"grpc","ProtocolVersion":1,"Pid":4242,"Test":true,"Addr":{"Network":"unix","String":"/tmp/plugin123"}}}'
//
// and serves until interrupted. Export that line in the shell that runs
// llmops, and llmops attaches to this process instead of starting one.
func Serve(p protocol.Provider, opts ...ServeOption) {
	cfg := &serveConfig{typ: typeFromExecutable(), debug: debugRequested(), out: os.Stdout, logOut: os.Stderr}
	for _, o := range opts {
		o(cfg)
	}
	if cfg.logger == nil {
		if cfg.debug {
			cfg.logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: cfg.logOut, Name: cfg.typ})
		} else {
			cfg.logger = NewLoggerTo(cfg.logOut)
		}
	}
	hclog.SetDefault(cfg.logger)
	plugins := VersionedPlugins(p)
	if cfg.protocolVersion != 0 {
		plugins = map[int]plugin.PluginSet{cfg.protocolVersion: plugins[protocol.Version]}
	}
	sc := &plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: plugins,
		GRPCServer:       newGRPCServer,
		Logger:           cfg.logger,
	}
	if !cfg.debug {
		if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
			fmt.Fprintf(os.Stderr, "This is the llmops provider %q: llmops starts it when a configuration needs it.\n"+
				"To run it on its own under a debugger, start it with -debug (or %s=1) and follow the instructions it prints.\n", cfg.typ, EnvDebug)
			os.Exit(1)
		}
		go exitWithParent(cfg.logger)
		plugin.Serve(sc)
		return
	}
	if err := serveDebug(cfg, sc); err != nil {
		fmt.Fprintf(os.Stderr, "llmops-provider-%s: %s\n", cfg.typ, err)
		os.Exit(1)
	}
}

func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.MaxRecvMsgSize(maxMsgSize), grpc.MaxSendMsgSize(maxMsgSize))
	return grpc.NewServer(opts...)
}

func serveDebug(cfg *serveConfig, sc *plugin.ServeConfig) error {
	ctx := cfg.ctx
	if ctx == nil {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	reattachCh := make(chan *plugin.ReattachConfig, 1)
	closeCh := make(chan struct{})
	sc.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattachCh, CloseCh: closeCh}
	go plugin.Serve(sc)

	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattachCh:
	case <-closeCh:
		return fmt.Errorf("the plugin server stopped before it was ready")
	}
	line, err := FormatReattach(map[string]*plugin.ReattachConfig{cfg.typ: rc})
	if err != nil {
		return err
	}
	fmt.Fprintf(cfg.out, "Provider %s is running in debug mode (pid %d). To attach llmops to it, export this in the shell that runs llmops:\n\n", cfg.typ, rc.Pid)
	fmt.Fprintf(cfg.out, "\texport %s=%s\n\n", EnvReattach, shellQuote(line))
	fmt.Fprintf(cfg.out, "Press Ctrl-C to stop the provider.\n")
	<-closeCh
	return nil
}

// typeFromExecutable derives the provider type from the executable name,
// llmops-provider-<type>[.exe]. A debugger-built binary with another name
// falls back to the whole name; use WithType then.
func typeFromExecutable() string {
	name := filepath.Base(os.Args[0])
	name = strings.TrimSuffix(name, ".exe")
	if i := strings.LastIndex(name, "llmops-provider-"); i >= 0 {
		name = name[i+len("llmops-provider-"):]
	}
	if i := strings.IndexByte(name, '_'); i > 0 {
		name = name[:i] // llmops-provider-null_v0.1.0
	}
	return name
}

func debugRequested() bool {
	switch strings.ToLower(os.Getenv(EnvDebug)) {
	case "1", "true", "yes":
		return true
	}
	for _, a := range os.Args[1:] {
		if a == "-debug" || a == "--debug" {
			return true
		}
	}
	return false
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// exitWithParent ends the provider when the llmops that started it dies
// (even by SIGKILL, which gives go-plugin no chance to stop it): nobody
// would record what it does any more. Long jobs run detached and are not
// affected.
func exitWithParent(logger hclog.Logger) {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			logger.Info("llmops exited; the provider stops too")
			os.Exit(0)
		}
	}
}
