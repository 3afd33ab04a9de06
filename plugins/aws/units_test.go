package aws

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

func TestChooseType(t *testing.T) {
	east := priceTable{region: "us-east-1"}
	cases := []struct {
		name     string
		p        priceTable
		gpus     int64
		gpuType  string
		endpoint bool
		want     string
		err      string
	}{
		{"cpu", east, 0, "", false, "ml.m5.xlarge", ""},
		{"one t4", east, 1, "T4", false, "ml.g4dn.xlarge", ""},
		{"one any", east, 1, "any", false, "ml.g4dn.xlarge", ""},
		{"eight a100", east, 8, "A100", false, "ml.p4d.24xlarge", ""},
		{"a100-80gb spelling", east, 8, "a100-80gb", false, "ml.p4d.24xlarge", ""},
		{"two v100 rounds up to four", east, 2, "v100", false, "ml.p3.8xlarge", ""},
		{"h100 not for endpoints", east, 8, "h100", true, "", "no instance type"},
		{"h100 not in eu-central-1", priceTable{region: "eu-central-1"}, 8, "h100", false, "", "eu-central-1"},
		{"override makes g5 cheaper than t4", priceTable{region: "us-east-1", overrides: map[string]float64{"ml.g5.xlarge": 0.1}}, 1, "", false, "ml.g5.xlarge", ""},
		{"too many", east, 16, "a100", false, "", "16 a100 GPUs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.p.chooseType(c.gpus, c.gpuType, c.endpoint)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("want an error with %q, got %q, %v", c.err, got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestPrices(t *testing.T) {
	p := priceTable{region: "us-east-1", overrides: map[string]float64{"ml.p4d.24xlarge": 32.77, "ml.g5.xlarge/spot": 0.4, "ml.custom.large": 2}}
	cases := []struct {
		typ  string
		spot bool
		want float64
		ok   bool
	}{
		{"ml.p4d.24xlarge", false, 32.77, true},
		{"ml.p4d.24xlarge", true, 9.831, true},
		{"ml.g5.xlarge", false, 1.408, true},
		{"ml.g5.xlarge", true, 0.4, true},
		{"ml.custom.large", false, 2, true},
		{"ml.unknown.large", false, 0, false},
	}
	for _, c := range cases {
		got, ok := p.price(c.typ, c.spot)
		if ok != c.ok || got != c.want {
			t.Errorf("price(%s, spot %v) = %v, %v; want %v, %v", c.typ, c.spot, got, ok, c.want, c.ok)
		}
	}
}

// Built-in prices follow the region (the table's factor over us-east-1);
// an override is taken as written, in any region.
func TestRegionalPrices(t *testing.T) {
	for _, c := range []struct {
		region string
		typ    string
		want   float64
	}{
		{"us-east-1", "ml.g5.xlarge", 1.408},
		{"us-west-2", "ml.g5.xlarge", 1.408},
		{"eu-central-1", "ml.g5.xlarge", 1.6896},
		{"ap-northeast-1", "ml.p4d.24xlarge", 47.11},
		{"xx-nowhere-1", "ml.g5.xlarge", 1.408},
		{"eu-central-1", "ml.override.large", 3},
	} {
		p := priceTable{region: c.region, overrides: map[string]float64{"ml.override.large": 3}}
		if got, ok := p.price(c.typ, false); !ok || got != c.want {
			t.Errorf("%s %s: %v, %v; want %v", c.region, c.typ, got, ok, c.want)
		}
	}
	// The cheapest type with a GPU stays the cheapest in every region.
	de := priceTable{region: "eu-central-1"}
	if typ, err := de.chooseType(1, "a10g", false); err != nil || typ != "ml.g5.xlarge" {
		t.Errorf("eu-central-1 1 a10g: %s %v", typ, err)
	}
}

type apiErr struct{ code, msg string }

func (e apiErr) Error() string                 { return e.code + ": " + e.msg }
func (e apiErr) ErrorCode() string             { return e.code }
func (e apiErr) ErrorMessage() string          { return e.msg }
func (e apiErr) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

func TestOpError(t *testing.T) {
	cases := []struct {
		err      error
		capacity bool
		want     []string
	}{
		{apiErr{"ResourceLimitExceeded", "The account-level service limit is 0 Instances"}, true, []string{"CreateTrainingJob", "ResourceLimitExceeded", "quota increase"}},
		{apiErr{"InsufficientInstanceCapacity", "no capacity"}, true, []string{"InsufficientInstanceCapacity", "another placement candidate"}},
		{apiErr{"ValidationException", "Could not assume role arn:aws:iam::1:role/x"}, false, []string{"ValidationException", "execution_role_arn"}},
		{apiErr{"AccessDeniedException", "not authorized to perform sagemaker:CreateTrainingJob"}, false, []string{"IAM policy of docs/aws.md"}},
		{apiErr{"ValidationException", "Value 'ml.g5.xlarge' at 'instanceType' failed to satisfy constraint"}, false, []string{"another instance_type"}},
		{errors.New("operation error SageMaker: CreateTrainingJob, https response error StatusCode: 0, RequestID: , dial tcp: connection refused"), false, []string{"RequestFailed", "connection refused"}},
	}
	for _, c := range cases {
		d := opError("CreateTrainingJob", "starting job x", c.err)
		if len(d) != 1 || d[0].Severity != protocol.Error {
			t.Fatalf("%v: %v", c.err, d)
		}
		if got := protocol.IsCapacityRefused(d[0].Summary); got != c.capacity {
			t.Errorf("%v: capacity refusal %v, want %v", c.err, got, c.capacity)
		}
		text := d[0].Summary + "\n" + d[0].Detail
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%v: %q lacks %q", c.err, text, w)
			}
		}
		if strings.Contains(text, "RequestID") || strings.Contains(text, "https response error") {
			t.Errorf("raw SDK text in %q", text)
		}
	}
}

func tarball(t *testing.T, entries map[string]string, link bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, content := range entries {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
		tw.Write([]byte(content))
	}
	if link {
		tw.WriteHeader(&tar.Header{Name: "evil", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink})
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestUntar(t *testing.T) {
	dir := t.TempDir()
	if err := untar(bytes.NewReader(tarball(t, map[string]string{"./model/w.bin": "w", "metrics.json": "{}"}, false)), dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "model", "w.bin")); err != nil || string(b) != "w" {
		t.Fatalf("model/w.bin: %q %v", b, err)
	}
	for name, arch := range map[string][]byte{
		"escape": tarball(t, map[string]string{"../outside": "x"}, false),
		"link":   tarball(t, map[string]string{"a": "x"}, true),
	} {
		if err := untar(bytes.NewReader(arch), t.TempDir()); err == nil {
			t.Errorf("%s: an archive leaving its root or holding links must be refused", name)
		}
	}
}

func TestRegionOf(t *testing.T) {
	for host, want := range map[string]string{
		"runtime.sagemaker.eu-west-1.amazonaws.com":     "eu-west-1",
		"runtime.sagemaker.us-gov-west-1.amazonaws.com": "us-gov-west-1",
		"127.0.0.1":          "us-east-1",
		"runtime.sagemaker.": "us-east-1",
	} {
		if got := regionOf(host, "us-east-1"); got != want {
			t.Errorf("regionOf(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestOffers(t *testing.T) {
	m := &meta{region: "us-east-1", prices: priceTable{region: "us-east-1", overrides: map[string]float64{"ml.g5.xlarge": 1}}}
	obj := func(typ string, v map[string]cty.Value) sdk.Object {
		o := sdk.NullObject(Provider().Resources[typ].Schema.Build().ImpliedType())
		for k, x := range v {
			o.Set(k, x)
		}
		return o
	}
	awsBlk := func(typ string, it string, spot bool) cty.Value {
		ty := Provider().Resources[typ].Schema.Build().ImpliedType().AttributeType("aws")
		vals := map[string]cty.Value{}
		for n, at := range ty.AttributeTypes() {
			vals[n] = cty.NullVal(at)
		}
		vals["image"] = cty.StringVal("img")
		vals["instance_type"] = cty.StringVal(it)
		if _, ok := vals["spot"]; ok {
			vals["spot"] = cty.BoolVal(spot)
		}
		return cty.ObjectVal(vals)
	}
	cases := []struct {
		name  string
		typ   string
		cfg   map[string]cty.Value
		price float64
		avail bool
	}{
		{"training on-demand", "training_run", map[string]cty.Value{"aws": awsBlk("training_run", "ml.g5.xlarge", false)}, 1, true},
		{"training spot", "training_run", map[string]cty.Value{"aws": awsBlk("training_run", "ml.g5.xlarge", true)}, 0.3, true},
		{"deployment x replicas", "deployment", map[string]cty.Value{"replicas": cty.NumberIntVal(3), "aws": awsBlk("deployment", "ml.g5.xlarge", false)}, 3, true},
		{"no price", "training_run", map[string]cty.Value{"aws": awsBlk("training_run", "ml.trn1.32xlarge", false)}, 0, false},
	}
	for _, c := range cases {
		offers, d := offers(context.Background(), &sdk.OffersRequest{TypeName: c.typ, Config: obj(c.typ, c.cfg), Meta: m})
		if d.HasErrors() || len(offers) != 1 {
			t.Fatalf("%s: %v %v", c.name, offers, d)
		}
		if o := offers[0]; o.Available != c.avail || o.PricePerHour != c.price {
			t.Errorf("%s: %+v, want available %v at %v/h", c.name, o, c.avail, c.price)
		}
	}
}
