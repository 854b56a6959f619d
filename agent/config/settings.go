package config

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// setting is one row of the table: everything about one variable.
type setting struct {
	name    string   // as printed, and the Provenance key
	lookup  []string // names read from files and the environment, first wins; nil: name
	flag    string   // command-line flag, without dashes; "" if none
	def     string   // default, in the variable's own syntax; "" if none
	allowed string   // what the variable accepts, for docs
	doc     string   // one line: what it does
	// parse checks v (never empty) and sets the field. An error says what is
	// wrong and what is allowed; a *fallback error asks for the default.
	parse  func(c *Config, v string) error
	format func(c Config) string // the field, in the variable's own syntax
	// redact hides the secret in a value, and hide in the field; nil for
	// variables that hold no secret.
	redact func(v string) string
	hide   func(c *Config)
}

// fallback is parse's answer for a value the stock agent replaces by the
// default with a warning rather than rejecting.
type fallback struct{ msg string }

func (f *fallback) Error() string { return f.msg }

// names are the names a setting is looked up by.
func (s setting) names() []string {
	if s.lookup == nil {
		return []string{s.name}
	}
	return s.lookup
}

// settings is the table. Order is the order of printing and of problems.
// Defaults and rules follow the stock agent on Linux
// (ecs-agent-protocol.md §9.2) unless a row says otherwise.
func settings() []setting {
	return []setting{
		str("ECS_CLUSTER", "cluster", "default",
			"a cluster name (1 to 255 letters, digits, '-' or '_') or a cluster ARN",
			"the cluster to join",
			func(c *Config) *string { return &c.Cluster }, checkCluster),
		{
			name: "AWS_DEFAULT_REGION", lookup: []string{"AWS_DEFAULT_REGION", "AWS_REGION"},
			allowed: "an AWS region such as us-east-1; required",
			doc:     "the region of every AWS API; AWS_REGION is read when AWS_DEFAULT_REGION is not set",
			parse: func(c *Config, v string) error {
				if err := checkRegion(v); err != nil {
					return err
				}
				c.Region = v
				return nil
			},
			format: func(c Config) string { return c.Region },
		},
		str("ECS_BACKEND_HOST", "", "",
			"a host, host:port or http(s) URL; empty: the SDK's endpoint for the region",
			"overrides the ECS API endpoint",
			func(c *Config) *string { return &c.BackendHost }, checkBackendHost),
		boolean("ECS_EXTERNAL", "false", "ECS Anywhere (external instance) mode",
			func(c *Config) *bool { return &c.External }),
		str("ECS_DATADIR", "data-dir", "/var/lib/ecs/data", "an absolute path",
			"directory of ecsd's state",
			func(c *Config) *string { return &c.DataDir }, checkAbsPath),
		{
			name: "ECS_LOGLEVEL", flag: "log-level", def: "info",
			allowed: "debug, info, warn, error or crit (any case)",
			doc:     "log level",
			parse: func(c *Config, v string) error {
				l := LogLevel(strings.ToLower(v))
				if !slices.Contains([]LogLevel{LogDebug, LogInfo, LogWarn, LogError, LogCrit}, l) {
					return fmt.Errorf("want debug, info, warn, error or crit")
				}
				c.LogLevel = l
				return nil
			},
			format: func(c Config) string { return string(c.LogLevel) },
		},
		integer("ECS_RESERVED_MEMORY", "0", "MiB of memory not offered to tasks", 0, 65535,
			func(c *Config) *int { return &c.ReservedMemory }),
		ports("ECS_RESERVED_PORTS", "[22,2375,2376,51678,51679]", "TCP host ports reported as used and never mapped",
			func(c *Config) *[]int { return &c.ReservedPorts }),
		ports("ECS_RESERVED_PORTS_UDP", "[]", "UDP host ports reported as used and never mapped",
			func(c *Config) *[]int { return &c.ReservedPortsUDP }),
		{
			// The stock agent's default is the kernel's ephemeral range; ecsd
			// does not read /proc here and uses the common Linux default.
			name: "ECS_DYNAMIC_HOST_PORT_RANGE", def: "32768-61000",
			allowed: "FIRST-LAST with 1 <= FIRST <= LAST <= 65535",
			doc:     "host ports for dynamic port mappings",
			parse: func(c *Config, v string) error {
				r, err := parsePortRange(v)
				if err != nil {
					return err
				}
				c.DynamicHostPortRange = r
				return nil
			},
			format: func(c Config) string { return c.DynamicHostPortRange.String() },
		},
		stringMap("ECS_INSTANCE_ATTRIBUTES",
			`a JSON object of strings, names of 1 to 128 letters, digits, '-', '_', '/', '\' or '.', values of 1 to 128 of those or '@', ':' or ' ' (not at either end)`,
			"custom attributes sent at registration",
			func(c *Config) *map[string]string { return &c.InstanceAttributes }, checkAttributes),
		stringMap("ECS_CONTAINER_INSTANCE_TAGS",
			"a JSON object of at most 50 strings, keys of 1 to 128 and values of at most 256 letters, digits, spaces or + - = . _ : / @, keys not starting with aws:",
			"tags sent at registration",
			func(c *Config) *map[string]string { return &c.ContainerInstanceTags }, checkTags),
		{
			// The stock default is ["json-file","none"] (ecs-init adds syslog,
			// awslogs and fluentd); ecsd advertises what it implements.
			name: "ECS_AVAILABLE_LOGGING_DRIVERS", def: `["json-file","awslogs","none"]`,
			allowed: `a JSON array of log drivers ecsd implements: "json-file", "awslogs", "none"`,
			doc:     "log drivers advertised to ECS",
			parse: func(c *Config, v string) error {
				var drivers []string
				if err := json.Unmarshal([]byte(v), &drivers); err != nil {
					return fmt.Errorf(`want a JSON array of strings such as ["json-file","awslogs"] (%s)`, jsonProblem(err))
				}
				var bad []string
				for _, d := range drivers {
					if !slices.Contains(SupportedLoggingDrivers(), d) {
						bad = append(bad, strconv.Quote(d))
					}
				}
				if len(bad) > 0 {
					return fmt.Errorf("ecsd does not implement %s; want any of %q", strings.Join(bad, ", "), SupportedLoggingDrivers())
				}
				c.AvailableLoggingDrivers = drivers
				return nil
			},
			format: func(c Config) string { return jsonString(c.AvailableLoggingDrivers) },
		},
		duration("ECS_CONTAINER_STOP_TIMEOUT", "30s", "grace between SIGTERM and SIGKILL",
			func(c *Config) *time.Duration { return &c.ContainerStopTimeout }, time.Second, false),
		duration("ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION", "3h", "delay before a stopped task's containers are removed",
			func(c *Config) *time.Duration { return &c.TaskCleanupWait }, time.Second, true),
		{
			name: "ECS_IMAGE_PULL_BEHAVIOR", def: "default",
			allowed: "default, always, once or prefer-cached",
			doc:     "when images are pulled",
			parse: func(c *Config, v string) error {
				b := ImagePullBehavior(v)
				if !slices.Contains([]ImagePullBehavior{PullDefault, PullAlways, PullOnce, PullPreferCached}, b) {
					return fmt.Errorf("want default, always, once or prefer-cached")
				}
				c.ImagePullBehavior = b
				return nil
			},
			format: func(c Config) string { return string(c.ImagePullBehavior) },
		},
		boolean("ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT", "false", "pull images before dependsOn conditions are met",
			func(c *Config) *bool { return &c.PullDependentContainersUpfront }),
		boolean("ECS_ENABLE_TASK_CPU_MEM_LIMIT", "true", "task-level cpu and memory limits in a task cgroup",
			func(c *Config) *bool { return &c.EnableTaskCPUMemLimit }),
		boolean("ECS_DISABLE_IMAGE_CLEANUP", "false", "turn image garbage collection off",
			func(c *Config) *bool { return &c.ImageCleanupDisabled }),
		duration("ECS_IMAGE_CLEANUP_INTERVAL", "30m", "period of image garbage collection",
			func(c *Config) *time.Duration { return &c.ImageCleanupInterval }, 10*time.Minute, false),
		duration("ECS_IMAGE_MINIMUM_CLEANUP_AGE", "1h", "how long an image stays after its pull before it may be deleted",
			func(c *Config) *time.Duration { return &c.ImageMinimumCleanupAge }, time.Nanosecond, false),
		integer("ECS_NUM_IMAGES_DELETE_PER_CYCLE", "5", "images deleted per garbage collection at most", 1, 0,
			func(c *Config) *int { return &c.NumImagesDeletePerCycle }),
		{
			name:    "ECS_EXCLUDE_UNTRACKED_IMAGE",
			allowed: "comma-separated image references",
			doc:     "images garbage collection never deletes",
			parse: func(c *Config, v string) error {
				var refs []string
				for r := range strings.SplitSeq(v, ",") {
					r = strings.TrimSpace(r)
					if r == "" {
						continue
					}
					if strings.ContainsFunc(r, isSpaceOrControl) {
						return fmt.Errorf("image reference %q has a space or control character; want comma-separated image references", r)
					}
					refs = append(refs, r)
				}
				c.ImageCleanupExclude = refs
				return nil
			},
			format: func(c Config) string { return strings.Join(c.ImageCleanupExclude, ",") },
		},
		str("ECS_ALTERNATE_CREDENTIAL_PROFILE", "", "default",
			"a profile name without spaces or brackets",
			"profile read from the rotating credentials file",
			func(c *Config) *string { return &c.AlternateCredentialProfile }, checkProfile),

		proxy("HTTPS_PROXY", []string{"https_proxy", "HTTPS_PROXY"}, "proxy for HTTPS requests (ECS, ACS, TCS, registries)",
			func(c *Config) *string { return &c.HTTPSProxy }),
		proxy("HTTP_PROXY", []string{"http_proxy", "HTTP_PROXY"}, "proxy for plain HTTP requests",
			func(c *Config) *string { return &c.HTTPProxy }),
		{
			name: "NO_PROXY", lookup: []string{"no_proxy", "NO_PROXY"}, def: strings.Join(AlwaysNoProxy(), ","),
			allowed: "comma-separated hosts, domains, IPs or CIDRs, or *; the local endpoints are always added",
			doc:     "hosts reached without the proxy",
			parse: func(c *Config, v string) error {
				c.NoProxy = extendNoProxy(v)
				return nil
			},
			format: func(c Config) string { return c.NoProxy },
		},

		str("ECSD_ACS_ENDPOINT", "", "",
			"a ws, wss, http or https URL; empty: discover",
			"ACS endpoint instead of DiscoverPollEndpoint's, for sites without public DNS",
			func(c *Config) *string { return &c.ACSEndpoint }, checkEndpointURL),
		str("ECSD_TCS_ENDPOINT", "", "",
			"a ws, wss, http or https URL; empty: discover",
			"telemetry endpoint instead of DiscoverPollEndpoint's",
			func(c *Config) *string { return &c.TCSEndpoint }, checkEndpointURL),
		str("ECSD_CONTAINERD_ADDRESS", "", "/run/containerd/containerd.sock", "an absolute path",
			"containerd's socket",
			func(c *Config) *string { return &c.ContainerdAddress }, checkAbsPath),
		str("ECSD_CONTAINERD_NAMESPACE", "", "ecsd",
			"letters and digits in parts joined by '.', '_' or '-', at most 76 characters",
			"containerd namespace of ecsd's images and containers",
			func(c *Config) *string { return &c.ContainerdNamespace }, checkNamespace),
		// The stock agent listens on 127.0.0.1:51679 and ecs-init redirects
		// 169.254.170.2:80 there; so does ecsd.
		str("ECSD_CREDENTIALS_LISTEN", "", "127.0.0.1:51679", "HOST:PORT; a loopback IPv4 address when ECSD_TASK_ENDPOINT_REDIRECT is on",
			"address of the task credentials and metadata endpoint",
			func(c *Config) *string { return &c.CredentialsListen }, checkListen),
		boolean("ECSD_TASK_ENDPOINT_REDIRECT", "true", "redirect 169.254.170.2:80 to ECSD_CREDENTIALS_LISTEN with iptables, as ecs-init does",
			func(c *Config) *bool { return &c.TaskEndpointRedirect }),
		str("ECSD_TASK_ENDPOINT_CHAIN", "", "ECSD-TASK-ENDPOINTS", "1 to 28 letters, digits, '-' or '_'",
			"iptables chain (nat and filter tables) of the task endpoint redirect",
			func(c *Config) *string { return &c.TaskEndpointChain }, checkChain),
		{
			name: "ECS_TASK_METADATA_RPS_LIMIT", def: "40,60",
			allowed: "RATE,BURST: two integers of at least 1, requests a second and the burst above it",
			doc:     "rate limit of the task credentials and metadata endpoint",
			parse: func(c *Config, v string) error {
				rate, burst, ok := strings.Cut(v, ",")
				r, err1 := strconv.Atoi(strings.TrimSpace(rate))
				b, err2 := strconv.Atoi(strings.TrimSpace(burst))
				if !ok || err1 != nil || err2 != nil || r < 1 || b < 1 {
					return fmt.Errorf("want RATE,BURST such as 40,60")
				}
				c.TaskMetadataRate, c.TaskMetadataBurst = r, b
				return nil
			},
			format: func(c Config) string { return fmt.Sprintf("%d,%d", c.TaskMetadataRate, c.TaskMetadataBurst) },
		},
		boolean("ECS_DISABLE_METRICS", "false", "send no container metrics to TCS (health and instance status still go)",
			func(c *Config) *bool { return &c.DisableMetrics }),
		boolean("ECS_ENABLE_TASK_IAM_ROLE", "true", "task IAM role credentials for tasks (ecs-init sets it)",
			func(c *Config) *bool { return &c.TaskIAMRole }),
		boolean("ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST", "true", "task IAM role credentials for host-network tasks (ecs-init sets it)",
			func(c *Config) *bool { return &c.TaskIAMRoleNetworkHost }),
		str("ECSD_INTROSPECTION_LISTEN", "", "127.0.0.1:51678", "HOST:PORT",
			"address of the introspection API",
			func(c *Config) *string { return &c.IntrospectionListen }, checkListen),
		str("ECSD_SSM_STATE_ROOT", "", "/var/lib/amazon/ssm", "an absolute path",
			"the SSM agent's data directory, where the hybrid activation's identity is",
			func(c *Config) *string { return &c.SSMStateRoot }, checkAbsPath),
		str("ECSD_SSM_ENDPOINT", "", "", "an http(s) URL; empty: the SSM endpoint of the region",
			"overrides the SSM endpoint used to refresh the instance's credentials (ecs-local, private endpoints)",
			func(c *Config) *string { return &c.SSMEndpoint }, checkEndpointURL),
		str("ECSD_SHARED_CREDENTIALS_FILE", "", "", "an absolute path such as /root/.aws/credentials; empty: not shared",
			"shared credentials file kept up to date with the managed instance's role credentials, for other workloads on the host",
			func(c *Config) *string { return &c.SharedCredentialsFile }, checkAbsPath),
		str("ECSD_SHARED_CREDENTIALS_PROFILE", "", "default",
			"a profile name without spaces or brackets",
			"profile of ECSD_SHARED_CREDENTIALS_FILE that ecsd writes; other profiles are left alone",
			func(c *Config) *string { return &c.SharedCredentialsProfile }, checkProfile),
		str("ECSD_CNI_BRIDGE", "", "ecsd0",
			"1 to 15 letters, digits, '_', '.' or '-', starting with a letter or digit",
			"Linux bridge of the bridge network",
			func(c *Config) *string { return &c.CNIBridge }, checkBridge),
		str("ECSD_CNI_SUBNET", "", "10.199.0.0/20", "an IPv4 CIDR of /30 or wider, without host bits",
			"IPv4 subnet of the bridge network",
			func(c *Config) *string { return &c.CNISubnet }, checkSubnet),
	}
}

// Variable documents one configuration variable.
type Variable struct {
	Name    string   // as printed and as the Provenance key
	Names   []string // every name read from files and the environment; within one layer the first wins
	Flag    string   // "--cluster", or ""
	Default string   // in the variable's own syntax; "" if none
	Allowed string   // what it accepts
	Doc     string   // what it does
	Secret  bool     // printed redacted
}

// Variables lists every variable Load reads, in printing order.
func Variables() []Variable {
	var vs []Variable
	for _, s := range settings() {
		v := Variable{
			Name: s.name, Names: s.names(), Default: s.def,
			Allowed: s.allowed, Doc: s.doc, Secret: s.redact != nil,
		}
		if s.flag != "" {
			v.Flag = "--" + s.flag
		}
		vs = append(vs, v)
	}
	return vs
}

func str(name, flag, def, allowed, doc string, field func(*Config) *string, check func(string) error) setting {
	return setting{
		name: name, flag: flag, def: def, allowed: allowed, doc: doc,
		parse: func(c *Config, v string) error {
			if err := check(v); err != nil {
				return err
			}
			*field(c) = v
			return nil
		},
		format: func(c Config) string { return *field(&c) },
	}
}

func boolean(name, def, doc string, field func(*Config) *bool) setting {
	return setting{
		name: name, def: def, allowed: "true or false (also 1, 0, t, f)", doc: doc,
		parse: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false")
			}
			*field(c) = b
			return nil
		},
		format: func(c Config) string { return strconv.FormatBool(*field(&c)) },
	}
}

// integer parses a decimal integer from lo to hi; hi 0 means no maximum.
func integer(name, def, doc string, lo, hi int, field func(*Config) *int) setting {
	allowed := fmt.Sprintf("an integer from %d to %d", lo, hi)
	if hi == 0 {
		hi = math.MaxInt
		allowed = fmt.Sprintf("an integer of at least %d", lo)
	}
	return setting{
		name: name, def: def, allowed: allowed, doc: doc,
		parse: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return fmt.Errorf("want %s", allowed)
			}
			*field(c) = n
			return nil
		},
		format: func(c Config) string { return strconv.Itoa(*field(&c)) },
	}
}

// duration parses a Go duration of at least min. Below min, the setting is
// rejected, or, where the stock agent does so (useDefault), replaced by the
// default with a warning.
func duration(name, def, doc string, field func(*Config) *time.Duration, min time.Duration, useDefault bool) setting {
	allowed := "a Go duration such as " + def
	if min > time.Nanosecond {
		allowed += ", at least " + formatDuration(min)
	} else {
		allowed += ", above zero"
	}
	return setting{
		name: name, def: def, allowed: allowed, doc: doc,
		parse: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("want %s", allowed)
			}
			if d < min {
				if useDefault {
					return &fallback{fmt.Sprintf("below %s, so the default %s is used, as the stock agent does", formatDuration(min), def)}
				}
				return fmt.Errorf("want %s", allowed)
			}
			*field(c) = d
			return nil
		},
		format: func(c Config) string { return formatDuration(*field(&c)) },
	}
}

func ports(name, def, doc string, field func(*Config) *[]int) setting {
	return setting{
		name: name, def: def, allowed: "a JSON array of ports from 1 to 65535, such as [22,2375]", doc: doc,
		parse: func(c *Config, v string) error {
			var ps []int
			if err := json.Unmarshal([]byte(v), &ps); err != nil {
				return fmt.Errorf("want a JSON array of ports such as [22,2375] (%s)", jsonProblem(err))
			}
			var bad []string
			for _, p := range ps {
				if p < 1 || p > 65535 {
					bad = append(bad, strconv.Itoa(p))
				}
			}
			if len(bad) > 0 {
				return fmt.Errorf("port %s out of range; want ports from 1 to 65535", strings.Join(bad, ", "))
			}
			if ps == nil { // "null"
				ps = []int{}
			}
			*field(c) = ps
			return nil
		},
		format: func(c Config) string { return jsonString(*field(&c)) },
	}
}

func stringMap(name, allowed, doc string, field func(*Config) *map[string]string, check func(map[string]string) error) setting {
	return setting{
		name: name, def: "{}", allowed: allowed, doc: doc,
		parse: func(c *Config, v string) error {
			var m map[string]string
			if err := json.Unmarshal([]byte(v), &m); err != nil {
				return fmt.Errorf(`want a JSON object of strings such as {"stack":"prod"} (%s)`, jsonProblem(err))
			}
			if m == nil { // "null"
				m = map[string]string{}
			}
			if err := check(m); err != nil {
				return err
			}
			*field(c) = m
			return nil
		},
		format: func(c Config) string { return jsonString(*field(&c)) },
	}
}

func proxy(name string, lookup []string, doc string, field func(*Config) *string) setting {
	return setting{
		name: name, lookup: lookup,
		allowed: "a proxy URL (http, https, socks5 or socks5h) or HOST:PORT",
		doc:     doc,
		parse: func(c *Config, v string) error {
			if _, err := parseProxyURL(v); err != nil {
				return err
			}
			*field(c) = v
			return nil
		},
		format: func(c Config) string { return *field(&c) },
		redact: redactProxy,
		hide:   func(c *Config) { *field(c) = redactProxy(*field(c)) },
	}
}

// formatDuration writes d as time.Duration does, without zero trailing
// units: 3h, 30m, 1h30m, 90s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // ints, strings, maps of strings
	}
	return string(b)
}

// jsonProblem shortens a json error for a message.
func jsonProblem(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "json: ")
	return s
}
