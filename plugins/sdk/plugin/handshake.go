package plugin

import (
	"context"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/llmops/llmops/plugins/sdk/proto"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Handshake is the go-plugin handshake shared by llmops and every provider.
// The cookie only guards against running a provider binary by hand; it is
// not a security measure. ProtocolVersion is informational: versions are
// negotiated through VersionedPlugins.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  protocol.Version,
	MagicCookieKey:   "LLMOPS_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "9b1f4c7e2d8a4f36b05e6a1c3d7f92e8a4b6c0d1e5f7a9b3c2d4e6f8a0b1c3d5",
}

// PluginName is the name under which the provider is dispensed.
const PluginName = "provider"

// maxMsgSize bounds a single gRPC message; states can be large (a dataset's
// split manifest), far larger than gRPC's 4 MiB default.
const maxMsgSize = 256 << 20

// VersionedPlugins returns the plugin sets per protocol version, for the
// client (impl nil) or the server.
func VersionedPlugins(impl protocol.Provider) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		protocol.Version: {PluginName: &GRPCProviderPlugin{Impl: impl}},
	}
}

// GRPCProviderPlugin is the go-plugin GRPCPlugin for providers. Impl is set
// on the server side only.
type GRPCProviderPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl protocol.Provider
	// Name labels diagnostics on the client side ("the provider null ...").
	Name string
}

var _ plugin.GRPCPlugin = (*GRPCProviderPlugin)(nil)

// GRPCServer registers the provider service.
func (p *GRPCProviderPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterProviderServer(s, newServer(p.Impl))
	return nil
}

// GRPCClient returns a *Client over conn. Process handling (Exited, Close)
// is wired by Start; a client made here alone only talks gRPC.
func (p *GRPCProviderPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (interface{}, error) {
	name := p.Name
	if name == "" {
		name = "(unnamed)"
	}
	return newClient(name, proto.NewProviderClient(conn)), nil
}
