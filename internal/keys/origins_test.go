package keys

import "testing"

func TestAllowedOriginsParse(t *testing.T) {
	tests := []struct {
		name    string
		origins string
		wantErr bool
	}{
		{"exact origins", `["https://shop.example.com", "http://localhost:3000"]`, false},
		{"subdomain wildcard", `["https://*.example.com"]`, false},
		{"empty list: no web page", `[]`, false},
		{"path", `["https://shop.example.com/"]`, true},
		{"query", `["https://shop.example.com?x=1"]`, true},
		{"no scheme", `["shop.example.com"]`, true},
		{"other scheme", `["ftp://shop.example.com"]`, true},
		{"user info", `["https://u@shop.example.com"]`, true},
		{"wildcard inside", `["https://shop.*.com"]`, true},
		{"bare wildcard", `["https://*"]`, true},
		{"not a string", `[1]`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(`{"merchants":[{"id":"a","write_keys":["w"],"allowed_origins":` + tc.origins + `}]}`))
			if (err != nil) != tc.wantErr {
				t.Errorf("Parse error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestOriginAllowed(t *testing.T) {
	s, err := Parse([]byte(`{"merchants":[
		{"id":"open","write_keys":["wo"]},
		{"id":"shop","write_keys":["ws"],"allowed_origins":["https://Shop.Example.com:443","http://localhost:3000","https://*.cdn.example.net"]},
		{"id":"closed","write_keys":["wc"],"allowed_origins":[]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		merchant, origin string
		want             bool
	}{
		{"open", "https://anything.example.org", true},
		{"open", "", true},
		{"shop", "https://shop.example.com", true},
		{"shop", "https://SHOP.example.com", true},
		{"shop", "https://shop.example.com:443", true},
		{"shop", "http://shop.example.com", false},
		{"shop", "https://shop.example.com:8443", false},
		{"shop", "https://evil-shop.example.com", false},
		{"shop", "https://shop.example.com.evil.org", false},
		{"shop", "http://localhost:3000", true},
		{"shop", "http://localhost:3001", false},
		{"shop", "https://a.cdn.example.net", true},
		{"shop", "https://a.b.cdn.example.net", true},
		{"shop", "https://cdn.example.net", false},
		{"shop", "https://xcdn.example.net", false},
		{"shop", "null", false},
		{"shop", "", false},
		{"closed", "https://shop.example.com", false},
		{"unknown merchant", "https://shop.example.com", true},
	}
	for _, tc := range tests {
		t.Run(tc.merchant+" "+tc.origin, func(t *testing.T) {
			if got := s.OriginAllowed(tc.merchant, tc.origin); got != tc.want {
				t.Errorf("OriginAllowed(%q, %q) = %v, want %v", tc.merchant, tc.origin, got, tc.want)
			}
		})
	}
}
