package main

import (
	"context"
	"fmt"
	"os"

	"github.com/llmops/llmops/internal/schemadoc/refdocs"
)

func main() {
	pages, err := refdocs.Generate(context.Background(), ".")
	if err == nil {
		err = refdocs.Write(".", pages)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "make docs:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d pages under %s\n", len(pages), refdocs.Dir)
}
