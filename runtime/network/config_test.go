package network

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want []string // each must appear in the error; none: valid
	}{
		{"defaults", Config{}, nil},
		{"all wrong", Config{
			BridgeName:       "a-bridge-name-too-long",
			Subnet:           "10.1.2.3/24",
			StateDir:         "relative",
			DynamicPortRange: [2]int{61000, 32768},
			ReservedTCP:      []int{0},
			ReservedUDP:      []int{70000},
		}, []string{
			`bridge name "a-bridge-name-too-long"`,
			`subnet "10.1.2.3/24": host bits set (want 10.1.2.0/24)`,
			`state dir "relative"`,
			`netns dir "relative/netns"`,
			"dynamic host port range 61000-32768",
			"reserved tcp port 0",
			"reserved udp port 70000",
		}},
		{"ipv6 subnet", Config{Subnet: "fd00::/64"}, []string{"want an IPv4 prefix"}},
		{"tiny subnet", Config{Subnet: "10.0.0.0/31"}, []string{"want an IPv4 prefix of /30 or wider"}},
		{"bad subnet", Config{Subnet: "ten"}, []string{`subnet "ten"`}},
		{"bridge name with slash", Config{BridgeName: "a/b"}, []string{`bridge name "a/b"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.withDefaults().validate()
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("validate: no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{StateDir: "/s"}.withDefaults()
	if c.BridgeName != "ecsd0" || c.Subnet != DefaultSubnet || c.NetNSDir != "/s/netns" ||
		c.DynamicPortRange != [2]int{32768, 61000} || !reflect.DeepEqual(c.PluginDirs, DefaultPluginDirs) || c.Log == nil {
		t.Errorf("defaults: %+v", c)
	}
}

func TestConflist(t *testing.T) {
	b, err := conflist("br9", "10.9.0.0/24", "/state/ipam")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		CNIVersion string `json:"cniVersion"`
		Name       string
		Plugins    []map[string]any
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, p := range got.Plugins {
		types = append(types, p["type"].(string))
	}
	if got.CNIVersion != "1.0.0" || got.Name != "br9" || !reflect.DeepEqual(types, []string{"bridge", "portmap", "firewall"}) {
		t.Fatalf("conflist: %s", b)
	}
	br := got.Plugins[0]
	ipam := br["ipam"].(map[string]any)
	if br["bridge"] != "br9" || br["isGateway"] != true || br["ipMasq"] != true || br["hairpinMode"] != true ||
		ipam["type"] != "host-local" || ipam["dataDir"] != "/state/ipam" ||
		ipam["ranges"].([]any)[0].([]any)[0].(map[string]any)["subnet"] != "10.9.0.0/24" {
		t.Errorf("bridge plugin: %v", br)
	}
	pm := got.Plugins[1]
	if pm["snat"] != true || pm["capabilities"].(map[string]any)["portMappings"] != true {
		t.Errorf("portmap plugin: %v", pm)
	}
}
