package null

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
)

func jobResource(h *hooks) *sdk.Resource {
	return &sdk.Resource{
		Schema: sdk.Block{
			Description: "A fake long operation: pending for `duration` after creation, then finished (or failed).",
			Attributes: sdk.Attributes{
				"duration": sdk.Attr(cty.String).Required().ForceNew().
					Description(`How long the job runs, as a Go duration ("2s", "1m30s").`),
				"fail": sdk.Attr(cty.Bool).Optional().ForceNew().
					Description("When true, the job fails once its duration has passed."),
				"cancel_duration": sdk.Attr(cty.String).Optional().Validate(sdk.Duration()).
					Description(`How long destroying the job takes, as a Go duration: Delete returns at once with a pending handle, as a remote job's cancellation would, and llmops waits until it has passed. Unset: destroyed at once.`),
				"id":          sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("The job's identifier."),
				"started_at":  sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("When the job started (RFC 3339)."),
				"finished_at": sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("When the job finished (RFC 3339); null while it runs."),
			},
		},
		Validate: func(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
			var diags sdk.Diagnostics
			if req.Config.Known("duration") && req.Config.IsSet("duration") {
				if d, err := time.ParseDuration(req.Config.GetString("duration")); err != nil || d < 0 {
					diags.AttrErrorf(cty.GetAttrPath("duration"), "Invalid duration",
						"%q is not a duration: write a Go duration such as \"2s\" or \"1m30s\".", req.Config.GetString("duration"))
				}
			}
			return diags
		},
		Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
			if r := h.apply(ctx); r != nil {
				return r
			}
			d, err := time.ParseDuration(req.Planned.GetString("duration"))
			if err != nil {
				return sdk.ErrorResponse("Invalid duration", err)
			}
			start := time.Now().UTC()
			st := req.Planned
			id := newID()
			st.SetString("id", id)
			st.SetString("started_at", start.Format(time.RFC3339Nano))
			st.SetNull("finished_at")
			sdk.Logger(ctx).Info("job submitted", "id", id, "duration", d.String())
			return &sdk.Response{State: st, Pending: sdk.PendingState(jobHandle(id, start, d), "running", "submitted")}
		},
		Read: func(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
			if req.Pending == nil {
				return nil // finished jobs do not change
			}
			if rest, ok := strings.CutPrefix(req.Pending.Handle, cancelPrefix); ok {
				return readCancel(rest, req)
			}
			id, start, d, err := parseJobHandle(req.Pending.Handle)
			if err != nil {
				return sdk.ErrorResponse("Invalid job handle", err)
			}
			elapsed := time.Since(start)
			if elapsed < d {
				msg := fmt.Sprintf("%s of %s elapsed", elapsed.Truncate(time.Millisecond), d)
				return &sdk.Response{State: req.State, Pending: sdk.PendingState(req.Pending.Handle, "running", msg)}
			}
			st := req.State
			st.SetString("finished_at", start.Add(d).Format(time.RFC3339Nano))
			if req.State.GetBool("fail") {
				var diags sdk.Diagnostics
				diags.Errorf("Job failed", "The null_job %s failed after %s, as its configuration asked (fail = true).", id, d)
				return &sdk.Response{State: st, Diagnostics: diags}
			}
			sdk.Logger(ctx).Info("job finished", "id", id)
			return &sdk.Response{State: st}
		},
		Update: func(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
			if r := h.apply(ctx); r != nil {
				return r
			}
			return &sdk.Response{State: req.Planned}
		},
		Delete: func(ctx context.Context, req *sdk.DeleteRequest) *sdk.Response {
			if r := h.destroy(ctx); r != nil {
				return r
			}
			d, _ := sdk.ParseDuration(req.Prior.GetString("cancel_duration"))
			if d <= 0 {
				return nil
			}
			// A long delete: return at once with a handle that says it is a
			// cancellation; Read reports it pending until d has passed.
			id := req.Prior.GetString("id")
			sdk.Logger(ctx).Info("job cancellation requested", "id", id, "takes", d.String())
			return &sdk.Response{State: req.Prior, Pending: sdk.PendingState(cancelPrefix+jobHandle(id, time.Now().UTC(), d), "cancelling", "cancellation requested")}
		},
	}
}

// cancelPrefix starts the handle of a job's cancellation (a pending
// delete): "cancel/" and a job handle whose duration is the cancellation's.
const cancelPrefix = "cancel/"

// readCancel polls a cancellation: pending until its duration has passed,
// then the job is gone.
func readCancel(handle string, req *sdk.ReadRequest) *sdk.Response {
	id, start, d, err := parseJobHandle(handle)
	if err != nil {
		return sdk.ErrorResponse("Invalid cancellation handle", err)
	}
	if elapsed := time.Since(start); elapsed < d {
		return &sdk.Response{State: req.State, Pending: sdk.PendingState(req.Pending.Handle, "cancelling",
			fmt.Sprintf("job %s: %s of %s", id, elapsed.Truncate(time.Millisecond), d))}
	}
	return sdk.Gone()
}

// A job handle is "<id>/<start unix nanoseconds>/<duration>": everything
// Read needs to answer without any other record.
func jobHandle(id string, start time.Time, d time.Duration) string {
	return fmt.Sprintf("%s/%d/%s", id, start.UnixNano(), d)
}

func parseJobHandle(h string) (id string, start time.Time, d time.Duration, err error) {
	parts := strings.Split(h, "/")
	if len(parts) != 3 {
		return "", time.Time{}, 0, fmt.Errorf("handle %q: want <id>/<start>/<duration>", h)
	}
	ns, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", time.Time{}, 0, fmt.Errorf("handle %q: %w", h, err)
	}
	d, err = time.ParseDuration(parts[2])
	if err != nil {
		return "", time.Time{}, 0, fmt.Errorf("handle %q: %w", h, err)
	}
	return parts[0], time.Unix(0, ns), d, nil
}
