package network

import "encoding/json"

// conflist is the CNI network ecsd writes: a bridge that is the
// containers' gateway and masquerades their outbound traffic, host-local
// addresses from the subnet (leases under ipamDir), portmap for host ports
// (snat: also for connections to 127.0.0.1, by setting route_localnet on
// the bridge), and the firewall plugin, which puts an accept for each
// container in a CNI-FORWARD chain ahead of the host's FORWARD rules.
// The namespace's lo is brought up when it is created (createNetNS).
func conflist(bridge, subnet, ipamDir string) ([]byte, error) {
	type obj = map[string]any
	return json.MarshalIndent(obj{
		"cniVersion": "1.0.0",
		"name":       bridge,
		"plugins": []obj{
			{
				"type":        "bridge",
				"bridge":      bridge,
				"isGateway":   true,
				"ipMasq":      true,
				"hairpinMode": true,
				"ipam": obj{
					"type":    "host-local",
					"ranges":  [][]obj{{{"subnet": subnet}}},
					"routes":  []obj{{"dst": "0.0.0.0/0"}},
					"dataDir": ipamDir,
				},
			},
			{
				"type":         "portmap",
				"capabilities": obj{"portMappings": true},
				"snat":         true,
			},
			{
				"type":    "firewall",
				"backend": "iptables",
			},
		},
	}, "", "  ")
}

// plugins are the CNI binaries the conflist names.
var plugins = []string{"bridge", "host-local", "portmap", "firewall"}
