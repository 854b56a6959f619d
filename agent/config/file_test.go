package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseFile(t *testing.T) {
	type kv struct {
		name, value string
		line        int
	}
	tests := []struct {
		name  string
		in    string
		want  []kv
		warns []string // Problem.String() of each warning
	}{
		{name: "empty", in: "", want: nil},
		{name: "plain", in: "ECS_CLUSTER=prod\n", want: []kv{{"ECS_CLUSTER", "prod", 1}}},
		{name: "no final newline", in: "A=1\nB=2", want: []kv{{"A", "1", 1}, {"B", "2", 2}}},
		{name: "comments and blank lines", in: "# header\n\n   \n  # indented comment\nA=1\n#B=2\n", want: []kv{{"A", "1", 5}}},
		{name: "CRLF", in: "A=1\r\nB=two words\r\n", want: []kv{{"A", "1", 1}, {"B", "two words", 2}}},
		{name: "BOM", in: "\uFEFFA=1\n", want: []kv{{"A", "1", 1}}},
		{name: "double quotes", in: `A="prod"`, want: []kv{{"A", "prod", 1}}},
		{name: "single quotes", in: `A='{"k":"v"}'`, want: []kv{{"A", `{"k":"v"}`, 1}}},
		{name: "double-quoted JSON keeps inner quotes", in: `A="{"k":"v"}"`, want: []kv{{"A", `{"k":"v"}`, 1}}},
		{name: "spaces inside quotes kept", in: `A="  x  "`, want: []kv{{"A", "  x  ", 1}}},
		{name: "one pair only", in: `A=""x""`, want: []kv{{"A", `"x"`, 1}}},
		{name: "mismatched quotes kept", in: `A="x'`, want: []kv{{"A", `"x'`, 1}}},
		{name: "lone quote kept", in: `A="`, want: []kv{{"A", `"`, 1}}},
		{name: "inner quote kept", in: `A=it's`, want: []kv{{"A", "it's", 1}}},
		{name: "empty value", in: "A=\nB=''\n", want: []kv{{"A", "", 1}, {"B", "", 2}}},
		{name: "split at first equals", in: "A=b=c==\n", want: []kv{{"A", "b=c==", 1}}},
		{name: "hash in value is data", in: "A=x # not a comment\n", want: []kv{{"A", "x # not a comment", 1}}},
		{name: "spaces around name and value", in: "  A  =  1  \n", want: []kv{{"A", "1", 1}}},
		{name: "tabs", in: "\tA=\t1\t\n", want: []kv{{"A", "1", 1}}},
		{name: "duplicates all returned in order", in: "A=1\nA=2\n", want: []kv{{"A", "1", 1}, {"A", "2", 2}}},
		{name: "lower case names", in: "https_proxy=http://p:3128\n", want: []kv{{"https_proxy", "http://p:3128", 1}}},
		{
			name:  "no equals",
			in:    "A=1\njust words\nB=2\n",
			want:  []kv{{"A", "1", 1}, {"B", "2", 3}},
			warns: []string{"f:2: not NAME=VALUE; line ignored"},
		},
		{
			name:  "bad names",
			in:    "export A=1\n1A=2\n=3\nA-B=4\n",
			warns: []string{`f:1: "export A" is not a variable name; line ignored`, "f:2: 1A is not a variable name; line ignored", `f:3: "" is not a variable name; line ignored`, "f:4: A-B is not a variable name; line ignored"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns := parseFile("f", []byte(tt.in))
			var gotKV []kv
			for _, a := range got {
				gotKV = append(gotKV, kv{a.name, a.value, a.line})
			}
			if !reflect.DeepEqual(gotKV, tt.want) {
				t.Errorf("assignments:\n got %+v\nwant %+v", gotKV, tt.want)
			}
			var gotWarns []string
			for _, w := range warns {
				gotWarns = append(gotWarns, w.String())
			}
			if !reflect.DeepEqual(gotWarns, tt.warns) {
				t.Errorf("warnings:\n got %q\nwant %q", gotWarns, tt.warns)
			}
		})
	}
}

// A warning about a line never shows the line: it may hold a secret.
func TestParseFileWarningHidesLine(t *testing.T) {
	_, warns := parseFile("f", []byte("password hunter2\n"))
	if len(warns) != 1 || strings.Contains(warns[0].String(), "hunter2") {
		t.Fatalf("warnings %v", warns)
	}
}
