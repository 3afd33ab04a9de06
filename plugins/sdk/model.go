package sdk

import (
	"fmt"
	"reflect"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Typed models: read a configuration, plan or state into a Go struct and
// set results from one, by `llmops:"name"` tags, alongside the getters.
//
//	type message struct {
//		Text   string  `llmops:"text"`
//		Upper  string  `llmops:"upper"`
//		Repeat *int64  `llmops:"repeat"` // nil when null
//	}
//	var m message
//	req.Planned.Get(&m)
//	m.Upper = strings.ToUpper(m.Text)
//	st := req.Planned
//	st.SetFrom(m)
//
// A field is any type gocty converts to and from the attribute's type:
// string, bool, int/int64/float64, pointers to them (nil for null),
// slices and maps of them, structs with `cty` tags for objects, or
// cty.Value for the raw value. Fields without a tag are ignored. A tag
// naming an attribute the schema lacks panics at once, as a getter does;
// the framework turns the panic into an error diagnostic.

// Get reads o into the struct dst points to. A null or unknown attribute
// leaves its field at the zero value; a value the field's type cannot hold
// is an error naming the attribute.
func (o Object) Get(dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("sdk: Get needs a pointer to a struct, not %T", dst))
	}
	sv := rv.Elem()
	for i := 0; i < sv.NumField(); i++ {
		name, ok := sv.Type().Field(i).Tag.Lookup("llmops")
		if !ok || name == "-" {
			continue
		}
		o.must("Get", name)
		f := sv.Field(i)
		v := o.Attr(name)
		f.Set(reflect.Zero(f.Type()))
		if v == cty.NilVal || !v.IsWhollyKnown() {
			continue
		}
		v, _ = v.UnmarkDeep()
		if f.Type() == reflect.TypeOf(cty.Value{}) {
			f.Set(reflect.ValueOf(v))
			continue
		}
		if v.IsNull() {
			continue
		}
		if err := gocty.FromCtyValue(v, f.Addr().Interface()); err != nil {
			return fmt.Errorf("attribute %q into field %s (%s): %w", name, sv.Type().Field(i).Name, f.Type(), err)
		}
	}
	return nil
}

// SetFrom sets each tagged attribute from the fields of src (a struct or
// a pointer to one); a nil pointer field sets null. It panics on a tag
// the schema lacks or a field that does not convert to the attribute's
// type: both are bugs in the provider.
func (o *Object) SetFrom(src any) {
	rv := reflect.Indirect(reflect.ValueOf(src))
	if rv.Kind() != reflect.Struct {
		panic(fmt.Sprintf("sdk: SetFrom needs a struct, not %T", src))
	}
	for i := 0; i < rv.NumField(); i++ {
		name, ok := rv.Type().Field(i).Tag.Lookup("llmops")
		if !ok || name == "-" {
			continue
		}
		ty := o.attrType(name)
		f := rv.Field(i)
		if cv, ok := f.Interface().(cty.Value); ok {
			if cv != cty.NilVal {
				o.Set(name, cv)
			}
			continue
		}
		v, err := gocty.ToCtyValue(f.Interface(), ty)
		if err != nil {
			panic(fmt.Sprintf("sdk: SetFrom: field %s for attribute %q (%s): %v", rv.Type().Field(i).Name, name, ty.FriendlyName(), err))
		}
		o.Set(name, v)
	}
}
