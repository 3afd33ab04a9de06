package aws

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// instanceType is one SageMaker instance type of the built-in table.
type instanceType struct {
	Name     string
	GPUType  string // "" for CPU instances
	GPUs     int64
	Price    float64  // on-demand USD per hour (SageMaker training, us-east-1)
	Regions  []string // nil: every region
	Endpoint bool     // usable for real-time endpoints too
}

// spotFraction is the built-in spot price as a share of the on-demand
// price (SageMaker managed spot saves up to 90%; 0.3 is a cautious
// planning figure). Override per type with prices["TYPE/spot"].
const spotFraction = 0.3

// builtinTypes is the built-in price table (docs/aws.md): SageMaker
// training list prices in us-east-1, rounded, at the time of writing
// (other regions through regionFactors).
// Regions restrict the types that only some regions offer. Real prices
// change and differ by region: the provider's `prices` overrides them.
var builtinTypes = []instanceType{
	{Name: "ml.m5.large", Price: 0.115, Endpoint: true},
	{Name: "ml.m5.xlarge", Price: 0.23, Endpoint: true},
	{Name: "ml.m5.4xlarge", Price: 0.922, Endpoint: true},
	{Name: "ml.c5.xlarge", Price: 0.204, Endpoint: true},
	{Name: "ml.g4dn.xlarge", GPUType: "t4", GPUs: 1, Price: 0.736, Endpoint: true},
	{Name: "ml.g4dn.12xlarge", GPUType: "t4", GPUs: 4, Price: 4.89, Endpoint: true},
	{Name: "ml.g5.xlarge", GPUType: "a10g", GPUs: 1, Price: 1.408, Endpoint: true},
	{Name: "ml.g5.12xlarge", GPUType: "a10g", GPUs: 4, Price: 7.09, Endpoint: true},
	{Name: "ml.g5.48xlarge", GPUType: "a10g", GPUs: 8, Price: 20.36, Endpoint: true},
	{Name: "ml.p3.2xlarge", GPUType: "v100", GPUs: 1, Price: 3.825, Endpoint: true},
	{Name: "ml.p3.8xlarge", GPUType: "v100", GPUs: 4, Price: 14.688, Endpoint: true},
	{Name: "ml.p3.16xlarge", GPUType: "v100", GPUs: 8, Price: 28.152, Endpoint: true},
	{Name: "ml.p4d.24xlarge", GPUType: "a100", GPUs: 8, Price: 37.688, Regions: []string{"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"}, Endpoint: true},
	{Name: "ml.p5.48xlarge", GPUType: "h100", GPUs: 8, Price: 113.07, Regions: []string{"us-east-1", "us-east-2", "us-west-2"}},
}

// regionFactors scale the table's us-east-1 prices to other regions: the
// ratio of SageMaker's list prices there to us-east-1's, rounded to 0.05,
// for the regions docs/aws.md lists. A region not listed uses the
// us-east-1 price (and the plan says its price is an estimate through
// this same table); the provider's prices override any of it.
var regionFactors = map[string]float64{
	"us-east-1":      1.00,
	"us-east-2":      1.00,
	"us-west-2":      1.00,
	"us-west-1":      1.15,
	"ca-central-1":   1.10,
	"eu-west-1":      1.10,
	"eu-west-2":      1.15,
	"eu-central-1":   1.20,
	"eu-north-1":     1.05,
	"ap-northeast-1": 1.25,
	"ap-southeast-1": 1.20,
	"ap-southeast-2": 1.25,
	"ap-south-1":     1.10,
	"sa-east-1":      1.50,
}

// regionFactor is the region's factor over us-east-1 prices (1 when the
// table does not know the region).
func regionFactor(region string) float64 {
	if f, ok := regionFactors[region]; ok {
		return f
	}
	return 1
}

// priceTable is the built-in table with the provider's overrides.
type priceTable struct {
	region    string
	overrides map[string]float64 // "TYPE" (on-demand) or "TYPE/spot"
}

// lookup returns the table's entry for an instance type (ok false when
// the table does not know it).
func lookup(name string) (instanceType, bool) {
	for _, t := range builtinTypes {
		if t.Name == name {
			return t, true
		}
	}
	return instanceType{}, false
}

// offered reports whether the region offers the type (as far as the table
// knows: types it does not know are assumed offered).
func (p priceTable) offered(name string) bool {
	t, ok := lookup(name)
	return !ok || t.Regions == nil || slices.Contains(t.Regions, p.region)
}

// price is the hourly price of one instance of the type; ok is false when
// neither the table nor the overrides know it.
func (p priceTable) price(name string, spot bool) (float64, bool) {
	if spot {
		if v, ok := p.overrides[name+"/spot"]; ok {
			return v, true
		}
	}
	v, ok := p.overrides[name]
	if !ok {
		t, known := lookup(name)
		if !known {
			return 0, false
		}
		v = math.Round(t.Price*regionFactor(p.region)*1e4) / 1e4
	}
	if spot {
		v = math.Round(v*spotFraction*1e4) / 1e4
	}
	return v, true
}

// normalGPU lowercases a gpu_type and maps common spellings to the
// table's names ("A100" and "a100-80gb" are a100, "A10G" is a10g).
func normalGPU(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	for _, k := range []string{"a100", "h100", "v100", "a10g", "t4"} {
		if strings.HasPrefix(t, k) {
			return k
		}
	}
	if t == "a10" {
		return "a10g"
	}
	return t
}

// chooseType maps resources to an instance type (docs/aws.md): no GPU, a
// general purpose type; with GPUs, the cheapest type the region offers
// with at least that many GPUs of the type (any type for "" or "any").
// endpoint restricts to types usable for real-time endpoints.
func (p priceTable) chooseType(gpus int64, gpuType string, endpoint bool) (string, error) {
	want := normalGPU(gpuType)
	if gpus <= 0 {
		return "ml.m5.xlarge", nil
	}
	var fits []instanceType
	for _, t := range builtinTypes {
		if t.GPUs < gpus || (want != "" && want != "any" && t.GPUType != want) || !p.offered(t.Name) || (endpoint && !t.Endpoint) {
			continue
		}
		fits = append(fits, t)
	}
	if len(fits) == 0 {
		return "", fmt.Errorf("no instance type of the built-in table has %d %s GPUs in %s; set aws { instance_type = \"ml....\" } (and its price in the provider's prices), or change resources", gpus, orAny(gpuType), p.region)
	}
	sort.SliceStable(fits, func(i, j int) bool {
		pi, _ := p.price(fits[i].Name, false)
		pj, _ := p.price(fits[j].Name, false)
		return pi < pj
	})
	return fits[0].Name, nil
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}
