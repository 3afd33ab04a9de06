// Package proto is the wire form of the provider protocol, version 1:
// provider.proto and the Go code that protoc generates from it (committed, so
// builds need no protoc; run `go generate ./plugins/sdk/proto` after editing
// the .proto file).
//
// Nothing outside plugins/sdk/plugin should import this package: the engine
// and provider authors use the Go types of package protocol, and the plugin
// package converts between them and these messages.
package proto
