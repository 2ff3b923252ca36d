package event

import (
	"encoding/json"
	"strings"
	"testing"
)

func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
}

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		maxDepth   int
		wantPath   string
		wantReason string // substring; "" = valid
	}{
		{"object", `{"a":1,"b":[true,false,null,"x\"y"],"c":{"d":-0.5e3}}`, 3, "", ""},
		{"scalar", `42`, 1, "", ""},
		{"empty containers", `{"a":{},"b":[]}`, 2, "", ""},
		{"whitespace", " {\n\t\"a\" : [ 1 , 2 ] \r}\n", 2, "", ""},
		{"at the depth limit", nested(MaxJSONDepth), MaxJSONDepth, "", ""},
		{"one level too deep", nested(MaxJSONDepth + 1), MaxJSONDepth, strings.Repeat(".a", MaxJSONDepth), "deeper than 32"},
		{"10,000 levels of arrays", strings.Repeat("[", 10000) + strings.Repeat("]", 10000), MaxJSONDepth, strings.Repeat("[0]", MaxJSONDepth), "deeper"},
		{"deep inside an array", `{"items":[{"x":1},{"y":[[[1]]]}]}`, 4, ".items[1].y[0]", "deeper than 4"},
		{"huge exponent", `{"revenue":1e999999}`, 2, ".revenue", "out of range"},
		{"negative huge exponent", `{"a":[1,-1E+400]}`, 3, ".a[1]", "out of range"},
		{"tiny number reads as 0", `{"a":1e-999999}`, 2, "", ""},
		{"long number", `{"n":` + strings.Repeat("1", MaxNumberLen+1) + `}`, 2, ".n", "characters long"},
		{"longest number", `{"n":` + strings.Repeat("1", MaxNumberLen) + `}`, 2, "", ""},
		{"leading zero", `{"n":01}`, 2, "", "malformed"},
		{"bare minus", `{"n":-}`, 2, ".n", "malformed number"},
		{"unterminated string", `{"a":"x`, 2, "", "malformed"},
		{"control character in a string", "{\"a\":\"x\x01\"}", 2, "", "malformed"},
		{"escapes", `{"a":"\"\\\/\b\f\n\r\t\u00e9\uD800"}`, 2, "", ""},
		{"bad escape", `{"a":"\0"}`, 2, "", "malformed"},
		{"short unicode escape", `{"a":"\u12"}`, 2, "", "malformed"},
		{"escape at the end", `{"a":"\`, 2, "", "malformed"},
		{"missing colon", `{"a" 1}`, 2, "", "malformed"},
		{"trailing comma", `{"a":1,}`, 2, "", "malformed"},
		{"trailing garbage", `{"a":1} x`, 2, "", "malformed"},
		{"mismatched close", `{"a":[1}`, 2, "", "malformed"},
		{"bad literal", `{"a":tru}`, 2, "", "malformed"},
		{"empty", ``, 2, "", "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, err := range []*JSONError{CheckJSON(tc.in, tc.maxDepth), CheckJSON([]byte(tc.in), tc.maxDepth)} {
				if tc.wantReason == "" {
					if err != nil {
						t.Fatalf("CheckJSON = %v, want nil", err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("CheckJSON = nil, want an error containing %q", tc.wantReason)
				}
				if !strings.Contains(err.Reason, tc.wantReason) || (tc.wantPath != "" && err.Path != tc.wantPath) {
					t.Errorf("CheckJSON = {path %q, reason %q}, want path %q and a reason containing %q", err.Path, err.Reason, tc.wantPath, tc.wantReason)
				}
				if want := strings.Contains(tc.wantReason, "malformed"); err.Malformed != want {
					t.Errorf("CheckJSON = %+v: Malformed %v, want %v", err, err.Malformed, want)
				}
			}
		})
	}
}

// FuzzCheckJSON: CheckJSON never accepts what encoding/json refuses, and
// what it accepts within the limits really is within them.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `1e999`, `"x"`, `[[[[[]]]]]`, `{"a":"\u0000"}`, `-0.0e-0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckJSON(b, 4)
		if err == nil && !json.Valid(b) {
			t.Fatalf("CheckJSON accepted invalid JSON %q", b)
		}
		if err == nil && depthOf(b) > 4 {
			t.Fatalf("CheckJSON accepted %q, nested %d levels", b, depthOf(b))
		}
	})
}

// depthOf is the nesting depth of valid JSON, counted naively.
func depthOf(b []byte) int {
	depth, max, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			depth++
			if depth > max {
				max = depth
			}
		case !inStr && (c == '}' || c == ']'):
			depth--
		}
	}
	return max
}
