package runtime

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type hostFiles struct {
	hosts, resolv, hostname string
}

// writeHostFiles writes the container's /etc/hosts, /etc/resolv.conf and
// /etc/hostname into dir; the spec bind-mounts them. In host network mode
// they start from the host's own files, as Docker does.
func writeHostFiles(dir string, spec ContainerSpec) (hostFiles, error) {
	f := hostFiles{
		hosts:    filepath.Join(dir, "hosts"),
		resolv:   filepath.Join(dir, "resolv.conf"),
		hostname: filepath.Join(dir, "hostname"),
	}
	hostname := specHostname(spec)
	var hosts bytes.Buffer
	if spec.HostNetwork {
		if b, err := os.ReadFile("/etc/hosts"); err == nil {
			hosts.Write(b)
			if len(b) > 0 && b[len(b)-1] != '\n' {
				hosts.WriteByte('\n')
			}
		}
	} else {
		hosts.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
		fmt.Fprintf(&hosts, "127.0.1.1\t%s\n", hostname)
	}
	for _, h := range spec.ExtraHosts {
		fmt.Fprintf(&hosts, "%s\t%s\n", h.IPAddress, h.Hostname)
	}

	var resolv bytes.Buffer
	if len(spec.DNSServers) == 0 && len(spec.DNSSearch) == 0 && len(spec.DNSOptions) == 0 {
		resolv.Write(hostResolvConf())
	} else {
		servers, search, options := parseResolvConf(hostResolvConf())
		if len(spec.DNSServers) > 0 {
			servers = spec.DNSServers
		}
		if len(spec.DNSSearch) > 0 {
			search = spec.DNSSearch
		}
		if len(spec.DNSOptions) > 0 {
			options = spec.DNSOptions
		}
		for _, s := range servers {
			fmt.Fprintf(&resolv, "nameserver %s\n", s)
		}
		if len(search) > 0 {
			fmt.Fprintf(&resolv, "search %s\n", strings.Join(search, " "))
		}
		if len(options) > 0 {
			fmt.Fprintf(&resolv, "options %s\n", strings.Join(options, " "))
		}
	}
	for path, data := range map[string][]byte{
		f.hosts:    hosts.Bytes(),
		f.resolv:   resolv.Bytes(),
		f.hostname: []byte(hostname + "\n"),
	} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return hostFiles{}, fmt.Errorf("write %s: %w", path, err)
		}
	}
	return f, nil
}

// hostResolvConf returns the host's resolv.conf without loopback name
// servers, which a container in its own network namespace cannot reach.
func hostResolvConf() []byte {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	var out bytes.Buffer
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "nameserver" &&
			(strings.HasPrefix(fields[1], "127.") || fields[1] == "::1") {
			continue
		}
		if strings.TrimSpace(line) != "" {
			out.WriteString(line + "\n")
		}
	}
	return out.Bytes()
}

func parseResolvConf(b []byte) (servers, search, options []string) {
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "nameserver":
			servers = append(servers, fields[1])
		case "search", "domain":
			search = fields[1:]
		case "options":
			options = fields[1:]
		}
	}
	return servers, search, options
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
