// Package protocol is the provider protocol as Go types: the Provider
// interface that the engine calls, its request and response structs, the
// schema model that providers use to describe their configuration and
// resource types, and diagnostics that point at attribute paths.
//
// It is the contract between the engine and every provider, whichever side
// of a process boundary the provider lives on. The gRPC client in
// plugins/sdk/plugin implements Provider over the wire; the server side
// serves any Provider. Provider authors normally use the friendlier
// framework in package sdk, which builds a Provider for them.
//
// The package depends only on cty. It knows nothing of HCL files, plans,
// state storage or gRPC.
package protocol

// Version is the protocol version spoken by this build. The go-plugin
// handshake negotiates it; a provider that speaks another version is
// refused with a message naming both.
const Version = 1
