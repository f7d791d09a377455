package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// The TOML decoder stops at the first value of the wrong type, says it in Go terms
// ("destination has type string"), silently ignores a string where a table is expected,
// and matches keys case-insensitively. So before decoding into Config, Parse walks the
// generic form of the document alongside the Go types and reports, all at once and in
// the DBA's terms, every unknown key and every value of the wrong type.

var (
	durationType = reflect.TypeFor[Duration]()
	timeType     = reflect.TypeFor[time.Time]()
)

// checkShape reports every key of doc that Config does not have and every value whose
// TOML type does not fit.
func (c *Config) checkShape(doc map[string]any) errorList {
	var errs errorList
	c.shape(doc, reflect.TypeFor[Config](), nil, &errs)
	return errs
}

func (c *Config) shape(v any, t reflect.Type, path []string, errs *errorList) {
	bad := func(want string) {
		errs.add(c.errorAt(path, fmt.Sprintf("want %s, got %s", want, tomlTypeName(v))))
	}
	switch {
	case t == durationType:
		s, ok := v.(string)
		if !ok {
			bad(`a duration such as "30s" or "5m"`)
			return
		}
		if _, err := time.ParseDuration(s); err != nil {
			errs.add(c.errorAt(path, fmt.Sprintf(`invalid duration %q (want a number and a unit such as "30s", "5m", "1h")`, s)))
		}
		return
	case t == timeType:
		tm, ok := v.(time.Time)
		if !ok || tm.Location().String() == tomlLocalTime {
			msg := "a date (2027-06-30) or datetime (2027-06-30T17:00:00Z), unquoted"
			if _, isString := v.(string); isString {
				msg = "a TOML date or datetime without quotes, such as 2027-06-30"
			}
			bad(msg)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		c.shape(v, t.Elem(), path, errs)
	case reflect.String:
		if _, ok := v.(string); !ok {
			bad("a string")
		}
	case reflect.Int, reflect.Int64:
		if _, ok := v.(int64); !ok {
			bad("an integer")
		}
	case reflect.Float64:
		if _, ok := v.(float64); !ok {
			if _, ok := v.(int64); !ok {
				bad("a number")
			}
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			bad("true or false")
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			bad("an array")
			return
		}
		for i, e := range list {
			c.shape(e, t.Elem(), append(slices.Clone(path), elem(i)), errs)
		}
	case reflect.Map:
		table, ok := v.(map[string]any)
		if !ok {
			bad("a table")
			return
		}
		for _, k := range sortedKeys(table) {
			c.shape(table[k], t.Elem(), append(slices.Clone(path), k), errs)
		}
	case reflect.Struct:
		table, ok := v.(map[string]any)
		if !ok {
			bad("a table")
			return
		}
		fields := tomlFields(t)
		for _, k := range sortedKeys(table) {
			p := append(slices.Clone(path), k)
			f, ok := fields[k]
			if !ok {
				errs.add(c.errorAt(p, unknownKey(k, sortedKeys(fields))))
				continue
			}
			c.shape(table[k], f.Type, p, errs)
		}
	default:
		// A field type this walk does not know: the decoder still checks it, with a
		// plainer message. Add a case when adding such a field.
	}
}

// tomlFields maps the TOML names of a struct's fields to the fields.
func tomlFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name != "" && name != "-" && f.IsExported() {
			fields[name] = f
		}
	}
	return fields
}

// tomlTypeName names the TOML type of a decoded value for messages.
func tomlTypeName(v any) string {
	switch v := v.(type) {
	case string:
		return "a string" // never quoted: it might be a secret in the wrong place
	case int64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the float %g", v)
	case bool:
		return fmt.Sprintf("%t", v)
	case time.Time:
		switch v.Location().String() {
		case tomlLocalTime:
			return "a time of day"
		case tomlLocalDate:
			return "a date"
		}
		return "a datetime"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
