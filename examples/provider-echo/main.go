// Command provider-echo is the echo provider. Build it as
// llmops-provider-echo:
//
//	go build -o llmops-provider-echo .
package main

import (
	"example.com/provider-echo/echo"

	"github.com/llmops/llmops/plugins/sdk"
)

func main() {
	sdk.Serve(echo.Provider())
}
