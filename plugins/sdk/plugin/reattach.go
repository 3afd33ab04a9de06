package plugin

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sort"

	plugin "github.com/hashicorp/go-plugin"
)

// EnvReattach names providers already running in debug mode, as a JSON map
// from provider type to ReattachInfo. llmops attaches to those processes
// instead of starting the binaries.
const EnvReattach = "LLMOPS_REATTACH_PROVIDERS"

// ReattachInfo is the JSON form of a plugin.ReattachConfig.
type ReattachInfo struct {
	Protocol        string
	ProtocolVersion int
	Pid             int
	Test            bool
	Addr            ReattachAddr
}

// ReattachAddr is a network address: Network is "unix" or "tcp".
type ReattachAddr struct {
	Network string
	String  string
}

// FormatReattach renders reattach configs as the JSON value of
// $LLMOPS_REATTACH_PROVIDERS.
func FormatReattach(m map[string]*plugin.ReattachConfig) (string, error) {
	out := make(map[string]ReattachInfo, len(m))
	for typ, rc := range m {
		info := ReattachInfo{Protocol: string(rc.Protocol), ProtocolVersion: rc.ProtocolVersion, Pid: rc.Pid, Test: rc.Test}
		if rc.Addr != nil {
			info.Addr = ReattachAddr{Network: rc.Addr.Network(), String: rc.Addr.String()}
		}
		out[typ] = info
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// ParseReattach parses the value of $LLMOPS_REATTACH_PROVIDERS.
func ParseReattach(s string) (map[string]*plugin.ReattachConfig, error) {
	var in map[string]ReattachInfo
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("invalid %s: %w", EnvReattach, err)
	}
	types := make([]string, 0, len(in))
	for t := range in {
		types = append(types, t)
	}
	sort.Strings(types)
	out := make(map[string]*plugin.ReattachConfig, len(in))
	for _, typ := range types {
		info := in[typ]
		var addr net.Addr
		var err error
		switch info.Addr.Network {
		case "unix":
			addr, err = net.ResolveUnixAddr("unix", info.Addr.String)
		case "tcp":
			addr, err = net.ResolveTCPAddr("tcp", info.Addr.String)
		default:
			err = fmt.Errorf("unknown network %q (want unix or tcp)", info.Addr.Network)
		}
		if err != nil {
			return nil, fmt.Errorf("invalid %s: provider %q: %w", EnvReattach, typ, err)
		}
		proto := plugin.Protocol(info.Protocol)
		if proto == "" {
			proto = plugin.ProtocolGRPC
		}
		out[typ] = &plugin.ReattachConfig{
			Protocol: proto, ProtocolVersion: info.ProtocolVersion, Pid: info.Pid, Test: info.Test, Addr: addr,
		}
	}
	return out, nil
}

// reattachFromEnv returns the reattach config for typ from the environment,
// or nil when the provider is not listed.
func reattachFromEnv(typ string) (*plugin.ReattachConfig, error) {
	s := os.Getenv(EnvReattach)
	if s == "" {
		return nil, nil
	}
	m, err := ParseReattach(s)
	if err != nil {
		return nil, err
	}
	return m[typ], nil
}
