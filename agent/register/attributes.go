package register

import (
	"bufio"
	"os"
	goruntime "runtime"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

const (
	legacyPrefix = "com.amazonaws.ecs.capability."
	capPrefix    = "ecs.capability."
)

// Attributes lists what ecsd really supports, as ECS attribute names, in
// the ECS agent's order: custom attributes (first registration only),
// capabilities, then OS and architecture. ECS places a task only on an
// instance with every attribute the task definition requires.
func Attributes(cfg Config, first bool) []types.Attribute {
	var out []types.Attribute
	name := func(n string) { out = append(out, types.Attribute{Name: aws.String(n)}) }
	value := func(n, v string) { out = append(out, types.Attribute{Name: aws.String(n), Value: aws.String(v)}) }

	if first {
		keys := make([]string, 0, len(cfg.InstanceAttributes))
		for k := range cfg.InstanceAttributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			value(k, cfg.InstanceAttributes[k])
		}
	}
	for _, c := range []string{
		"container-ordering", "full-sync", "network.container-port-range", "container-restart-policy",
		"container-health-check", "execution-role-ecr-pull", "external",
	} {
		name(capPrefix + c)
	}
	name(legacyPrefix + "privileged-container")
	for _, v := range dockerAPIVersions {
		name(legacyPrefix + "docker-remote-api." + v)
	}
	for _, d := range cfg.LoggingDrivers {
		name(legacyPrefix + "logging-driver." + d)
	}
	if cfg.TaskIAMRole {
		name(legacyPrefix + "task-iam-role")
		if cfg.TaskIAMRoleNetworkHost {
			name(legacyPrefix + "task-iam-role-network-host")
		}
	}
	name(legacyPrefix + "ecr-auth")
	if cfg.TaskCPUMemLimit {
		name(capPrefix + "task-cpu-mem-limit")
		name(capPrefix + "increased-task-cpu-limit")
	}
	value("ecs.os-type", "linux")
	value("ecs.os-family", "LINUX")
	detailed := cfg.DetailedOSFamily
	if detailed == "" {
		detailed = detailedOSFamily("/etc/os-release")
	}
	value("ecs.os-type-detailed", detailed)
	value("ecs.cpu-architecture", cpuArchitecture(goruntime.GOARCH))
	return out
}

// dockerAPIVersions are the Docker remote API versions task definitions
// may require: ecsd supports what they stand for (1.17–1.25, 1.28–1.30,
// 1.32, as the ECS agent advertises on Linux).
var dockerAPIVersions = []string{
	"1.17", "1.18", "1.19", "1.20", "1.21", "1.22", "1.23", "1.24", "1.25",
	"1.28", "1.29", "1.30", "1.32",
}

func cpuArchitecture(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "386":
		return "i386"
	}
	return strings.ToLower(goarch)
}

// detailedOSFamily is what ecs-init puts in ECS_DETAILED_OS_FAMILY: the
// distribution's ID and VERSION_ID from os-release, such as debian_12, or
// LINUX when they cannot be read.
func detailedOSFamily(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "LINUX"
	}
	defer f.Close()
	var id, version string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			version = v
		}
	}
	if id == "" {
		return "LINUX"
	}
	if version == "" {
		return id
	}
	return id + "_" + version
}
