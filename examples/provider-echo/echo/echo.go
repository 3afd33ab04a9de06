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
		DataSources: map[string]*sdk.DataSource{
			"echo_greeting": greeting(),
		},
	}
}

// greeting is a data source: read on every plan, never recorded, as
// data "echo_greeting" "hi" { name = "ann" } and data.echo_greeting.hi.text.
func greeting() *sdk.DataSource {
	return &sdk.DataSource{
		Schema: sdk.Block{
			Description: "A greeting for someone, computed from their name.",
			Attributes: sdk.Attributes{
				"name": sdk.Attr(cty.String).Required().Description("Who to greet."),
				"text": sdk.Attr(cty.String).Computed().Description(`The greeting, "hello, <name>".`),
			},
		},
		Read: func(_ context.Context, req *sdk.ReadDataRequest) (sdk.Object, sdk.Diagnostics) {
			st := req.Config // wholly known; computed attributes are null
			var diags sdk.Diagnostics
			if st.GetString("name") == "" {
				diags.AttrErrorf(cty.GetAttrPath("name"), "Empty name", "name must not be empty: say who to greet.")
				return st, diags
			}
			st.SetString("text", "hello, "+st.GetString("name"))
			return st, diags
		},
	}
}

func message() *sdk.Resource {
	return &sdk.Resource{
		Schema: sdk.Block{
			Description: "A message that llmops echoes back.",
			Attributes: sdk.Attributes{
				"text": sdk.Attr(cty.String).Required().Description("The message."),
				// Plan modifiers and validators from the SDK's library: a
				// default the plan shows, a replacement on change, checks.
				"channel": sdk.Attr(cty.String).Optional().Computed().Default(cty.StringVal("general")).RequiresReplace().
					Validate(sdk.OneOf("general", "alerts", "ops")).
					Description("Where the message goes; a change replaces it."),
				"delay": sdk.Attr(cty.String).Optional().RequiresReplace().Validate(sdk.Duration()).
					Description(`How long delivery takes, e.g. "2s": the message stays pending until then.`),
				"id":           sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("The message's identifier."),
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
	// delay's form is checked by its sdk.Duration() validator.
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

// derived is the typed model of what setDerived reads and writes: fields
// by `llmops` tag (a tag the schema lacks fails at once).
type derived struct {
	Text   string `llmops:"text"`
	Length int64  `llmops:"length"`
	Upper  string `llmops:"upper"`
}

func setDerived(st *sdk.Object) {
	var m derived
	if err := st.Get(&m); err != nil {
		panic(err) // the schema and the struct disagree: a bug here
	}
	m.Length = int64(utf8.RuneCountInString(m.Text))
	m.Upper = strings.ToUpper(m.Text)
	st.SetFrom(m)
}

func create(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
	st := req.Planned
	st.SetString("id", newID())
	setDerived(&st)
	delay, _ := sdk.ParseDuration(st.GetString("delay"))
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
