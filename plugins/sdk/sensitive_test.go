package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// leakyProvider logs and returns in errors everything it is given, the way
// careless provider code would.
func leakyProvider(seen *sdk.SensitivePaths, secretsSeen *[]string) *sdk.Provider {
	leak := func(ctx context.Context, st sdk.Object) sdk.Diagnostics {
		env := st.GetStringMap("env")
		sdk.Logger(ctx).Info("starting with token "+env["TOKEN"], "env", env, "password", st.GetString("password"), "err", errors.New("open /x/"+env["TOKEN"]))
		sdk.Logger(ctx).With("token", env["TOKEN"]).Named("job").Warn("again")
		var d sdk.Diagnostics
		d.Errorf("Cannot use "+env["TOKEN"], "The path /data/%s/model (password %s) does not exist.", env["TOKEN"], st.GetString("password"))
		*secretsSeen = sdk.Secrets(ctx).List()
		return d
	}
	return &sdk.Provider{
		Name: "leaky",
		Resources: map[string]*sdk.Resource{"leaky_thing": {
			Schema: sdk.Block{Attributes: sdk.Attributes{
				"env":      sdk.Attr(cty.Map(cty.String)).Optional(),
				"password": sdk.Attr(cty.String).Optional().Sensitive(),
				"id":       sdk.Attr(cty.String).Computed(),
			}},
			Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
				*seen = req.Sensitive
				return &sdk.Response{Diagnostics: leak(ctx, req.Planned)}
			},
			Read: func(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
				return &sdk.Response{Diagnostics: leak(ctx, req.State)}
			},
		}},
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The SDK knows which attributes are sensitive (the schema's, and the
// paths llmops sends): their values are masked in the provider's logs and
// in the errors it returns.
func TestSensitiveValuesAreMaskedInLogsAndErrors(t *testing.T) {
	logs := &lockedBuffer{}
	old := hclog.Default()
	hclog.SetDefault(hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace}))
	t.Cleanup(func() { hclog.SetDefault(old) })

	const token, password = "tok-env-secret-4242", "pw-schema-secret-77"
	var seen sdk.SensitivePaths
	var secretsSeen []string
	p := sdk.NewProtocolProvider(leakyProvider(&seen, &secretsSeen))
	ty := cty.Object(map[string]cty.Type{"env": cty.Map(cty.String), "password": cty.String, "id": cty.String})
	v := cty.ObjectVal(map[string]cty.Value{
		"env":      cty.MapVal(map[string]cty.Value{"TOKEN": cty.StringVal(token), "MODE": cty.StringVal("fast-mode")}),
		"password": cty.StringVal(password), "id": cty.UnknownVal(cty.String),
	})
	tokenPath := cty.GetAttrPath("env").IndexString("TOKEN")
	ctx := context.Background()
	ar := p.ApplyResourceChange(ctx, protocol.ApplyResourceChangeRequest{
		TypeName: "leaky_thing", PriorState: cty.NullVal(ty), PlannedState: v, Config: v,
		SensitivePaths: []cty.Path{tokenPath},
	})
	rr := p.ReadResource(ctx, protocol.ReadResourceRequest{
		TypeName: "leaky_thing", CurrentState: cty.ObjectVal(map[string]cty.Value{
			"env": v.GetAttr("env"), "password": cty.StringVal(password), "id": cty.StringVal("x"),
		}), SensitivePaths: []cty.Path{tokenPath},
	})
	for call, d := range map[string]protocol.Diagnostics{"apply": ar.Diagnostics, "read": rr.Diagnostics} {
		text := fmt.Sprint(d.Err())
		if !d.HasErrors() || !strings.Contains(text, "/data/(sensitive)/model") {
			t.Errorf("%s: want the error with the value masked, got %s", call, text)
		}
		if strings.Contains(text, token) || strings.Contains(text, password) {
			t.Errorf("%s: the error shows a sensitive value: %s", call, text)
		}
	}
	out := logs.String()
	if strings.Contains(out, token) || strings.Contains(out, password) {
		t.Errorf("the provider's log shows a sensitive value:\n%s", out)
	}
	if !strings.Contains(out, "starting with token (sensitive)") || !strings.Contains(out, "fast-mode") {
		t.Errorf("the log lines are missing or over-masked:\n%s", out)
	}
	if !seen.Covers(tokenPath) || !seen.Covers(cty.GetAttrPath("password")) || seen.Covers(cty.GetAttrPath("env").IndexString("MODE")) {
		t.Errorf("CreateRequest.Sensitive = %#v", seen)
	}
	if strings.Join(secretsSeen, ",") != password+","+token {
		t.Errorf("sdk.Secrets(ctx) = %q", secretsSeen)
	}
}

func TestSensitivePathsCovers(t *testing.T) {
	ps := sdk.SensitivePaths{
		cty.GetAttrPath("access").GetAttr("api_keys"),
		cty.GetAttrPath("items").Index(cty.UnknownVal(cty.Number)).GetAttr("secret"),
	}
	for p, want := range map[string]struct {
		path cty.Path
		want bool
	}{
		"the attribute":        {cty.GetAttrPath("access").GetAttr("api_keys"), true},
		"an element inside it": {cty.GetAttrPath("access").GetAttr("api_keys").IndexInt(0), true},
		"a sibling":            {cty.GetAttrPath("access").GetAttr("public"), false},
		"any element":          {cty.GetAttrPath("items").IndexInt(3).GetAttr("secret"), true},
		"another attribute":    {cty.GetAttrPath("items").IndexInt(3).GetAttr("name"), false},
		"the parent":           {cty.GetAttrPath("access"), false},
	} {
		if got := ps.Covers(want.path); got != want.want {
			t.Errorf("%s: Covers = %v", p, got)
		}
	}
}
