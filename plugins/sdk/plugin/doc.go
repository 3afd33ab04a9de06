// Package plugin is the go-plugin glue between llmops and its provider
// executables, both sides of it.
//
// The host side, Start, launches (or reattaches to) an
// `llmops-provider-<type>` executable, negotiates the protocol version and
// returns a protocol.Provider whose calls go over gRPC. The plugin side,
// Serve, serves any protocol.Provider from inside such an executable;
// provider authors normally call sdk.Serve, which calls Serve.
//
// The boundary: this package converts between the Go types of package
// protocol and the generated messages of package proto, encodes values as
// cty msgpack against the schemas, and manages the process (handshake,
// AutoMTLS, logs, crashes, debug reattach). It knows nothing of the engine,
// of HCL or of how a provider implements its resources. Finding and
// trusting the binary is engine/discovery's job.
package plugin
