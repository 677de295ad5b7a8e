package aetheris

import (
	"encoding/json"
	"testing"
)

// Vectors produced by the server's own canonicalizer (src/domain/canonical-json.ts).
var canonicalVectors = []struct{ in, want string }{
	{`{"b":2,"a":1,"c":{"z":null,"y":[true,false]}}`, `{"a":1,"b":2,"c":{"y":[true,false],"z":null}}`},
	{`[1e21,1e20,123456789012345680000,0.000001,1e-7,-0,0.1,1.5e-10,-3.25,100,1E3,12.50]`,
		`[1e+21,100000000000000000000,123456789012345680000,0.000001,1e-7,0,0.1,1.5e-10,-3.25,100,1000,12.5]`},
	{`{"\u20ac":1,"\r":2,"a":3,"\ud83d\ude00":4,"\ufb33":5}`, "{\"\\r\":2,\"a\":3,\"\u20ac\":1,\"\U0001F600\":4,\"\ufb33\":5}"},
	{`"tab\t nl\n ctrl\u0001 quote\" back\\ slash/ uni é \u2028 <>&"`,
		"\"tab\\t nl\\n ctrl\\u0001 quote\\\" back\\\\ slash/ uni é \u2028 <>&\""},
	{`[9007199254740993,5e-324,1.7976931348623157e308,4.35,0.3333333333333333,2e-6,123e-20]`,
		`[9007199254740992,5e-324,1.7976931348623157e+308,4.35,0.3333333333333333,0.000002,1.23e-18]`},
	{``, `null`},
	{` {"a" : [ 1 , 2 ] } `, `{"a":[1,2]}`},
}

func TestCanonicalJSONVectors(t *testing.T) {
	for _, v := range canonicalVectors {
		got, err := CanonicalJSON(json.RawMessage(v.in))
		if err != nil {
			t.Fatalf("CanonicalJSON(%s): %v", v.in, err)
		}
		if string(got) != v.want {
			t.Errorf("CanonicalJSON(%s)\n got %s\nwant %s", v.in, got, v.want)
		}
	}
}

func TestCanonicalJSONOfGoValues(t *testing.T) {
	type order struct {
		ID    string  `json:"id"`
		Cents int     `json:"cents"`
		Rate  float64 `json:"rate"`
		Tags  map[string]bool
	}
	got, err := CanonicalJSON(order{ID: "A<1>", Cents: 1500, Rate: 0.5, Tags: map[string]bool{"z": true, "b": false}})
	if err != nil {
		t.Fatal(err)
	}
	// encoding/json would escape <>; RFC 8785 does not.
	if want := `{"Tags":{"b":false,"z":true},"cents":1500,"id":"A<1>","rate":0.5}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, bad := range []string{`{"a":}`, `[1] [2]`, "\"\xff\""} {
		if _, err := CanonicalJSON([]byte(bad)); err == nil {
			t.Errorf("CanonicalJSON(%q) accepted invalid input", bad)
		}
	}
}
