package sdk_test

import (
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

func ctyjsonMarshal(v cty.Value) ([]byte, error) { return ctyjson.Marshal(v, v.Type()) }
