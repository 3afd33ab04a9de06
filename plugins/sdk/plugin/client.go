package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/plugins/sdk/proto"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// StartOptions say which provider to start and how.
type StartOptions struct {
	// Path is the provider executable, as found by engine/discovery.
	Path string
	// Type is the provider type, e.g. "null"; it names the provider in
	// messages and logs, and selects its entry in $LLMOPS_REATTACH_PROVIDERS.
	Type string
	// Logger receives the provider's log lines, under the provider's name.
	// Nil discards them.
	Logger hclog.Logger
	// Env is added to the provider's environment, which otherwise is the
	// environment of llmops without its secrets (see ProviderEnviron).
	Env []string
	// Unset names variables of llmops's environment that the provider (and
	// so the jobs it starts) does not inherit: credentials of llmops's own,
	// such as those of a PostgreSQL state.
	Unset []string
	// Reattach attaches to a provider already running in debug mode instead
	// of starting Path. When nil, $LLMOPS_REATTACH_PROVIDERS is consulted.
	Reattach *plugin.ReattachConfig
	// StartTimeout bounds the start and handshake; default one minute, or
	// less if ctx has an earlier deadline.
	StartTimeout time.Duration
	// LogFile is where Logger writes, if it writes to a file: the message
	// for a provider that dies points at it (Go's report of a crash, the
	// panic and its stack trace, is there).
	LogFile string
}

// Start starts the provider executable (or attaches to a debug one),
// negotiates protocol version protocol.Version over a mutually
// authenticated gRPC connection, and returns a protocol.Provider whose
// calls go to the process. The concrete type is *Client. Close kills the
// process (a debug process attached to is left running).
func Start(ctx context.Context, opts StartOptions) (protocol.Provider, error) {
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	logger = logger.Named(opts.Type)
	rc := opts.Reattach
	if rc == nil {
		var err error
		if rc, err = reattachFromEnv(opts.Type); err != nil {
			return nil, err
		}
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	pl := &GRPCProviderPlugin{Name: opts.Type}
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{protocol.Version: {PluginName: pl}},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
		StartTimeout:     timeout,
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(maxMsgSize), grpc.MaxCallSendMsgSize(maxMsgSize))},
	}
	what := fmt.Sprintf("provider %q (%s)", opts.Type, opts.Path)
	if rc != nil {
		if rc.ProtocolVersion != 0 && rc.ProtocolVersion != protocol.Version {
			return nil, versionError(opts.Type, fmt.Sprintf("pid %d", rc.Pid), rc.ProtocolVersion)
		}
		cfg.Reattach = rc
		cfg.Plugins = cfg.VersionedPlugins[protocol.Version]
		what = fmt.Sprintf("provider %q (debug process %d)", opts.Type, rc.Pid)
	} else {
		if opts.Path == "" {
			return nil, fmt.Errorf("provider %q: no executable path given", opts.Type)
		}
		cmd := exec.Command(opts.Path)
		// The host's environment without llmops' secrets and the variables
		// named in opts.Unset, then opts.Env, which wins over it.
		cmd.Env = append(environWithout(ProviderEnviron(os.Environ()), opts.Unset), EnvLogLevel+"="+logger.GetLevel().String())
		cmd.Env = append(cmd.Env, opts.Env...)
		cfg.Cmd = cmd
		cfg.SkipHostEnv = true
		cfg.AutoMTLS = true
	}
	pc := plugin.NewClient(cfg)
	rpc, err := pc.Client()
	if err != nil {
		pc.Kill()
		if v, ok := parseIncompatible(err); ok {
			return nil, versionError(opts.Type, opts.Path, v)
		}
		return nil, fmt.Errorf("starting %s: %w", what, err)
	}
	raw, err := rpc.Dispense(PluginName)
	if err != nil {
		pc.Kill()
		return nil, fmt.Errorf("starting %s: %w", what, err)
	}
	c := raw.(*Client)
	c.pc = pc
	c.path = opts.Path
	c.logFile = opts.LogFile
	return c, nil
}

// ProviderEnviron is the environment a provider process gets from llmops':
// all of it (providers rely on credential chains: SLURM_JWT, HF_HOME, AWS
// and Kubernetes settings) except what stays with llmops, the state key
// and the input variables (jobs.HostOnly).
func ProviderEnviron(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !jobs.HostOnly(name) {
			out = append(out, kv)
		}
	}
	return out
}

var incompatibleRE = regexp.MustCompile(`Plugin version: (\d+)`)

func parseIncompatible(err error) (int, bool) {
	m := incompatibleRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false
	}
	v, _ := strconv.Atoi(m[1])
	return v, true
}

func versionError(typ, where string, v int) error {
	return fmt.Errorf("provider %q (%s) speaks plugin protocol %d; this llmops speaks protocol %d. Use a provider release built for protocol %d",
		typ, where, v, protocol.Version, protocol.Version)
}

// Client is a protocol.Provider whose calls go over gRPC to a provider
// process. It is safe for concurrent use.
type Client struct {
	name    string
	path    string
	logFile string // see StartOptions.LogFile
	rpc     proto.ProviderClient
	pc      *plugin.Client // nil when built over a bare connection (tests)

	mu     sync.Mutex // serialises schema loading
	schema atomic.Pointer[schemaCache]
	closed atomic.Bool
}

var _ protocol.Provider = (*Client)(nil)

func newClient(name string, rpc proto.ProviderClient) *Client {
	return &Client{name: name, rpc: rpc}
}

// PID is the provider process's id (0 when unknown).
func (c *Client) PID() int {
	if c.pc == nil {
		return 0
	}
	if rc := c.pc.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// Exited reports whether the provider process has ended (crashed, killed,
// or closed). Calls to an exited provider fail with an error diagnostic.
func (c *Client) Exited() bool {
	return c.closed.Load() || (c.pc != nil && c.pc.Exited())
}

// Exited reports whether p is a plugin client whose process has ended.
// It is false for in-process providers.
func Exited(p protocol.Provider) bool {
	e, ok := p.(interface{ Exited() bool })
	return ok && e.Exited()
}

// Close kills the provider process; it is safe to call more than once.
func (c *Client) Close() error {
	c.closed.Store(true)
	if c.pc != nil {
		c.pc.Kill()
	}
	return nil
}

// rpcDiags turns a transport error into an error diagnostic naming the
// provider. A process that died mid-call is reported as such: go-plugin
// notices the exit shortly after the connection drops, so wait a moment
// for it before deciding.
func (c *Client) rpcDiags(ctx context.Context, call string, err error) protocol.Diagnostics {
	var diags protocol.Diagnostics
	code := status.Code(err)
	if c.pc != nil && !c.closed.Load() && (code == codes.Unavailable || code == codes.Canceled || code == codes.Internal || code == codes.Unknown) {
		deadline := time.Now().Add(2 * time.Second)
		for !c.pc.Exited() && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	switch {
	case c.Exited() && !c.closed.Load():
		where := "Its log (llmops's log of this run, or stderr with LLMOPS_LOG=debug) holds what it printed before it died."
		if c.logFile != "" {
			where = fmt.Sprintf("What it printed before it died (for a crash, Go's panic message and stack trace) is in the log file %s.", c.logFile)
		}
		diags.Errorf(fmt.Sprintf("The provider %s exited unexpectedly", c.name),
			"The provider process (%s) ended during or before %s. %s This is a bug in the provider, or the process was killed.",
			c.path, call, where)
	case c.closed.Load():
		diags.Errorf(fmt.Sprintf("The provider %s is closed", c.name), "%s was called after the provider was closed.", call)
	case ctx.Err() != nil || code == codes.Canceled || code == codes.DeadlineExceeded:
		diags.Errorf(fmt.Sprintf("Call to the provider %s was interrupted", c.name), "%s: %s", call, status.Convert(err).Message())
	default:
		diags.Errorf(fmt.Sprintf("Error calling the provider %s", c.name), "%s: %s", call, err)
	}
	return diags
}

func (c *Client) exitedDiags(call string) protocol.Diagnostics {
	if !c.Exited() {
		return nil
	}
	return c.rpcDiags(context.Background(), call, errors.New("the process is not running"))
}

// schemas returns the cached schemas, calling GetSchema the first time.
func (c *Client) schemas(ctx context.Context) (*schemaCache, protocol.Diagnostics) {
	if sc := c.schema.Load(); sc != nil {
		return sc, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc := c.schema.Load(); sc != nil {
		return sc, nil
	}
	resp := c.getSchema(ctx)
	if resp.Diagnostics.HasErrors() {
		return nil, resp.Diagnostics
	}
	sc := newSchemaCache(resp)
	c.schema.Store(sc)
	return sc, nil
}

func (c *Client) resourceType(ctx context.Context, name string) (cty.Type, protocol.Diagnostics) {
	sc, diags := c.schemas(ctx)
	if diags.HasErrors() {
		return cty.NilType, diags
	}
	return sc.resourceType(c.name, name)
}

// environWithout is env without the variables named in unset.
func environWithout(env, unset []string) []string {
	if len(unset) == 0 {
		return env
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(unset, name) {
			out = append(out, kv)
		}
	}
	return out
}
