package remote

import (
	"context"
	"time"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
)

// CollectOptions adjust Collect.
type CollectOptions struct {
	// DryRun removes nothing.
	DryRun bool
	// MinAge spares objects younger than this (where the store says when
	// it received them): a push in progress elsewhere has stored the files
	// of a directory whose listing, the last thing stored, is not there yet.
	MinAge time.Duration
	// Removed, when set, is called for each object removed (or, with
	// DryRun, that would be).
	Removed func(backend.Object)
}

// DefaultMinAge is the usual CollectOptions.MinAge.
const DefaultMinAge = time.Hour

// Collect removes from the remote store every object that the artifacts
// keep do not reference: neither one of them, nor a file of a kept
// directory. It returns what it removed (or would).
func Collect(ctx context.Context, b backend.Backend, keep map[artifacts.ID]bool, opts CollectOptions) ([]backend.Object, error) {
	reach := map[artifacts.ID]bool{}
	for id := range keep {
		reach[id] = true
		obj, err := b.Stat(ctx, id)
		if backend.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if obj.Kind != backend.Tree {
			continue
		}
		listing, err := b.Listing(ctx, obj)
		if err != nil {
			return nil, err
		}
		files, err := artifacts.ParseListing(listing)
		if err != nil {
			// Keep what it may reference rather than guess: nothing of a
			// kept tree is removed, and the tree is refused when fetched.
			continue
		}
		for _, f := range files {
			reach[f.ID] = true
		}
	}
	var doomed []backend.Object
	now := time.Now()
	err := b.List(ctx, func(o backend.Object) error {
		if reach[o.ID] || (!o.Modified.IsZero() && now.Sub(o.Modified) < opts.MinAge) {
			return nil
		}
		doomed = append(doomed, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var removed []backend.Object
	for _, o := range doomed {
		if !opts.DryRun {
			if err := b.Delete(ctx, o); err != nil && !backend.IsNotFound(err) {
				return removed, err
			}
		}
		removed = append(removed, o)
		if opts.Removed != nil {
			opts.Removed(o)
		}
	}
	return removed, nil
}
