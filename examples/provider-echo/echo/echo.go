package echo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
)

// Provider returns the echo provider.
func Provider() *sdk.Provider {
	return &sdk.Provider{
		Name:    "echo",
		Version: "0.1.0",
		Resources: map[string]*sdk.Resource{
			"echo_message": message(),
		},
	}
}

func message() *sdk.Resource {
	return &sdk.Resource{
		Schema: sdk.Block{
			Description: "A message that llmops echoes back.",
			Attributes: sdk.Attributes{
				"text":    sdk.Attr(cty.String).Required().Description("The message."),
				"channel": sdk.Attr(cty.String).Optional().ForceNew().Description("Where the message goes; a change replaces it."),
				"delay": sdk.Attr(cty.String).Optional().ForceNew().
					Description(`How long delivery takes, e.g. "2s": the message stays pending until then.`),
				"id":           sdk.Attr(cty.String).Computed().UseStateForUnknown(),
				"length":       sdk.Attr(cty.Number).Computed().Description("Number of characters in text."),
				"upper":        sdk.Attr(cty.String).Computed().Description("text in upper case."),
				"delivered_at": sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("When the message was delivered (RFC 3339); an update does not deliver it again."),
			},
		},
		Validate:   validate,
		ModifyPlan: modifyPlan,
		Create:     create,
		Read:       read,
		Update:     update,
		// Delete is nil: the message lives only in llmops state.
		Import: sdk.ImportByID("id"),
	}
}

func validate(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	var diags sdk.Diagnostics
	// Values may be unknown at validation time: only check known ones.
	if req.Config.Known("text") && req.Config.GetString("text") == "" {
		diags.AttrErrorf(cty.GetAttrPath("text"), "Empty message", "text must not be empty.")
	}
	if req.Config.Known("delay") && req.Config.IsSet("delay") {
		if _, err := time.ParseDuration(req.Config.GetString("delay")); err != nil {
			diags.AttrErrorf(cty.GetAttrPath("delay"), "Invalid delay", "%q is not a duration such as \"2s\".", req.Config.GetString("delay"))
		}
	}
	return diags
}

// modifyPlan shows length and upper in the plan when text is known: they
// only depend on it. (Left alone, the framework would plan them as unknown
// on every update, "known after apply", since they are not
// UseStateForUnknown: they do change with text.)
func modifyPlan(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
	planned := req.Planned
	if planned.Known("text") {
		setDerived(&planned)
	} else {
		planned.SetUnknown("length")
		planned.SetUnknown("upper")
	}
	return &sdk.ModifyPlanResponse{Planned: planned}
}

func setDerived(st *sdk.Object) {
	text := st.GetString("text")
	st.SetInt("length", int64(utf8.RuneCountInString(text)))
	st.SetString("upper", strings.ToUpper(text))
}

func create(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
	st := req.Planned
	st.SetString("id", newID())
	setDerived(&st)
	delay, _ := time.ParseDuration(st.GetString("delay"))
	if delay <= 0 {
		st.SetString("delivered_at", time.Now().UTC().Format(time.RFC3339))
		return &sdk.Response{State: st}
	}
	// A long operation: return at once with the state so far and a handle;
	// llmops records it and calls Read with the handle until it is done.
	st.SetNull("delivered_at")
	deadline := time.Now().Add(delay)
	sdk.Logger(ctx).Info("message queued", "id", st.GetString("id"), "delay", delay.String())
	return &sdk.Response{State: st, Pending: sdk.PendingState(strconv.FormatInt(deadline.UnixNano(), 10), "queued", "delivery in "+delay.String())}
}

func read(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
	if req.Pending == nil {
		return nil // nothing outside llmops to look at: unchanged
	}
	ns, err := strconv.ParseInt(req.Pending.Handle, 10, 64)
	if err != nil {
		return sdk.ErrorResponse("Invalid pending handle", err)
	}
	deadline := time.Unix(0, ns)
	if left := time.Until(deadline); left > 0 {
		return &sdk.Response{State: req.State, Pending: sdk.PendingState(req.Pending.Handle, "sending", fmt.Sprintf("%s left", left.Round(time.Millisecond)))}
	}
	st := req.State
	st.SetString("delivered_at", deadline.UTC().Format(time.RFC3339))
	sdk.Logger(ctx).Info("message delivered", "id", st.GetString("id"))
	return &sdk.Response{State: st}
}

func update(_ context.Context, req *sdk.UpdateRequest) *sdk.Response {
	st := req.Planned
	setDerived(&st)
	return &sdk.Response{State: st}
}

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "msg-" + hex.EncodeToString(b[:])
}
