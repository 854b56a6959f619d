package controlplane

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ecsd-project/ecsd/wire/ecs"
)

// Placement is decided by pure functions over candidates built from the
// store: which ACTIVE container instance of the cluster takes the next task,
// or, when none can, the reason each one cannot, as ECS reports it in
// RunTask failures.

// Reasons an instance cannot take a task.
const (
	reasonCPU              = "RESOURCE:CPU"
	reasonMemory           = "RESOURCE:MEMORY"
	reasonPorts            = "RESOURCE:PORTS"
	reasonPortsUDP         = "RESOURCE:PORTS_UDP"
	reasonAttribute        = "ATTRIBUTE"
	reasonMemberOf         = "MemberOf placement constraint unsatisfied."
	reasonDistinctInstance = "DistinctInstance placement constraint unsatisfied."
)

// candidate is a container instance as placement sees it.
type candidate struct {
	arn      string
	view     instanceView
	cpuLeft  int64
	memLeft  int64
	tcp, udp map[int32]bool // ports taken
	groups   map[string]int // live tasks per group
}

// demand is what one task needs.
type demand struct {
	res         resources
	requires    []ecs.Attribute
	group       string
	constraints []constraint
	strategies  []ecs.PlacementStrategy
}

type constraint struct {
	distinct bool
	memberOf query
}

// parsePlacement validates RunTask's or a service's placement constraints
// and strategies.
func parsePlacement(pcs []ecs.PlacementConstraint, pss []ecs.PlacementStrategy) ([]constraint, error) {
	if len(pcs) > 10 {
		return nil, invalidParam("Placement constraints can have at most 10 items.")
	}
	if len(pss) > 5 {
		return nil, invalidParam("Placement strategies can have at most 5 items.")
	}
	var out []constraint
	for _, pc := range pcs {
		switch pc.Type {
		case ecs.ConstraintDistinctInstance:
			if pc.Expression != "" {
				return nil, invalidParam("The distinctInstance placement constraint takes no expression.")
			}
			out = append(out, constraint{distinct: true})
		case ecs.ConstraintMemberOf:
			q, err := parseQuery(pc.Expression)
			if err != nil {
				return nil, invalidParam("Invalid memberOf expression %q: %v", pc.Expression, err)
			}
			out = append(out, constraint{memberOf: q})
		default:
			return nil, invalidParam("Invalid placement constraint type %q.", pc.Type)
		}
	}
	for _, ps := range pss {
		switch ps.Type {
		case ecs.StrategyRandom:
		case ecs.StrategyBinpack:
			if f := strings.ToLower(ps.Field); f != "cpu" && f != "memory" {
				return nil, invalidParam("The binpack placement strategy takes the field cpu or memory, not %q.", ps.Field)
			}
		case ecs.StrategySpread:
			if ps.Field == "" {
				return nil, invalidParam("The spread placement strategy needs a field.")
			}
		default:
			return nil, invalidParam("Invalid placement strategy type %q.", ps.Type)
		}
	}
	return out, nil
}

// taskDefConstraints are the memberOf constraints of a task definition,
// already validated when it was registered.
func taskDefConstraints(td *ecs.TaskDefinition) []constraint {
	var out []constraint
	for _, pc := range td.PlacementConstraints {
		if q, err := parseQuery(pc.Expression); err == nil {
			out = append(out, constraint{memberOf: q})
		}
	}
	return out
}

// why returns why c cannot take d, or "".
func (c *candidate) why(d *demand) string {
	for _, a := range d.requires {
		v, ok := c.view.attrs[a.Name]
		if !ok || (a.Value != "" && v != a.Value) {
			return reasonAttribute
		}
	}
	for _, k := range d.constraints {
		if k.distinct && c.groups[d.group] > 0 {
			return reasonDistinctInstance
		}
		if k.memberOf != nil && !k.memberOf.match(&c.view) {
			return reasonMemberOf
		}
	}
	if d.res.CPU > c.cpuLeft {
		return reasonCPU
	}
	if d.res.Memory > c.memLeft {
		return reasonMemory
	}
	for _, p := range d.res.TCP {
		if c.tcp[p] {
			return reasonPorts
		}
	}
	for _, p := range d.res.UDP {
		if c.udp[p] {
			return reasonPortsUDP
		}
	}
	return ""
}

// take records that c runs a task of d.
func (c *candidate) take(d *demand) {
	c.cpuLeft -= d.res.CPU
	c.memLeft -= d.res.Memory
	for _, p := range d.res.TCP {
		c.tcp[p] = true
	}
	for _, p := range d.res.UDP {
		c.udp[p] = true
	}
	c.groups[d.group]++
	c.view.groups[d.group] = true
	c.view.runningTasks++
}

// place picks the candidate for one task of d, or returns the failures: one
// per candidate, with the first reason it cannot take the task.
func place(cands []*candidate, d *demand, rnd *rand.Rand) (*candidate, []ecs.Failure) {
	var fit []*candidate
	var failures []ecs.Failure
	for _, c := range cands {
		if why := c.why(d); why != "" {
			failures = append(failures, ecs.Failure{ARN: c.arn, Reason: why})
			continue
		}
		fit = append(fit, c)
	}
	if len(fit) == 0 {
		return nil, failures
	}
	strategies := d.strategies
	if len(strategies) == 0 {
		strategies = []ecs.PlacementStrategy{{Type: ecs.StrategySpread, Field: "instanceId"}}
	}
	scores := make(map[*candidate][]float64, len(fit))
	for _, c := range fit {
		for _, s := range strategies {
			scores[c] = append(scores[c], score(c, s, d.group, cands, rnd))
		}
	}
	sort.SliceStable(fit, func(i, j int) bool {
		a, b := scores[fit[i]], scores[fit[j]]
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return fit[i].arn < fit[j].arn
	})
	return fit[0], nil
}

// score ranks c under one strategy; lower is better.
func score(c *candidate, s ecs.PlacementStrategy, group string, all []*candidate, rnd *rand.Rand) float64 {
	switch s.Type {
	case ecs.StrategyBinpack:
		if strings.EqualFold(s.Field, "cpu") {
			return float64(c.cpuLeft)
		}
		return float64(c.memLeft)
	case ecs.StrategySpread:
		switch f := s.Field; {
		case f == "instanceId" || f == "host":
			return float64(c.groups[group])
		case strings.HasPrefix(f, "attribute:"):
			name := strings.TrimPrefix(f, "attribute:")
			mine, ok := c.view.attrs[name]
			n := 0
			for _, o := range all {
				if v, has := o.view.attrs[name]; has == ok && v == mine {
					n += o.groups[group]
				}
			}
			return float64(n)
		}
		return 0
	case ecs.StrategyRandom:
		return rnd.Float64()
	}
	return 0
}

// taskDemand is the resources a task of td (with overrides) reserves: the
// task-level cpu and memory if set, else the sum over its containers (the
// soft memory limit where there is one), and its static host ports.
func taskDemand(td *ecs.TaskDefinition, ov *ecs.TaskOverride) resources {
	var r resources
	cpu, mem := td.CPU, td.Memory
	if ov != nil && ov.CPU != "" {
		cpu = ov.CPU
	}
	if ov != nil && ov.Memory != "" {
		mem = ov.Memory
	}
	r.CPU, _ = taskCPU(cpu)
	r.Memory, _ = taskMemory(mem)
	var sumCPU, sumMem int64
	for _, c := range td.ContainerDefinitions {
		c = applyContainerOverride(c, ov)
		sumCPU += int64(c.CPU)
		switch {
		case c.MemoryReservation != nil:
			sumMem += int64(*c.MemoryReservation)
		case c.Memory != nil:
			sumMem += int64(*c.Memory)
		}
		if td.NetworkMode != ecs.NetworkModeBridge && td.NetworkMode != ecs.NetworkModeHost {
			continue
		}
		for _, pm := range c.PortMappings {
			var ports []int32
			switch {
			case pm.ContainerPortRange != "" && td.NetworkMode == ecs.NetworkModeHost:
				lo, hi, _ := portRange(pm.ContainerPortRange)
				for p := lo; p <= hi; p++ {
					ports = append(ports, p)
				}
			case pm.HostPort != nil && *pm.HostPort > 0:
				ports = append(ports, *pm.HostPort)
			}
			if pm.Protocol == ecs.ProtocolUDP {
				r.UDP = append(r.UDP, ports...)
			} else {
				r.TCP = append(r.TCP, ports...)
			}
		}
	}
	if r.CPU == 0 {
		r.CPU = sumCPU
	}
	if r.Memory == 0 {
		r.Memory = sumMem
	}
	return r
}

// applyContainerOverride returns c with the override for it applied.
func applyContainerOverride(c ecs.ContainerDefinition, ov *ecs.TaskOverride) ecs.ContainerDefinition {
	if ov == nil {
		return c
	}
	for _, co := range ov.ContainerOverrides {
		if co.Name != c.Name {
			continue
		}
		if co.Command != nil {
			c.Command = co.Command
		}
		if co.CPU != nil {
			c.CPU = *co.CPU
		}
		if co.Memory != nil {
			c.Memory = co.Memory
		}
		if co.MemoryReservation != nil {
			c.MemoryReservation = co.MemoryReservation
		}
		if len(co.Environment) > 0 {
			env := slices.Clone(c.Environment)
			for _, kv := range co.Environment {
				replaced := false
				for i := range env {
					if env[i].Name == kv.Name {
						env[i].Value, replaced = kv.Value, true
					}
				}
				if !replaced {
					env = append(env, kv)
				}
			}
			c.Environment = env
		}
		if len(co.EnvironmentFiles) > 0 {
			c.EnvironmentFiles = append(slices.Clone(c.EnvironmentFiles), co.EnvironmentFiles...)
		}
		if len(co.ResourceRequirements) > 0 {
			c.ResourceRequirements = co.ResourceRequirements
		}
	}
	return c
}

// usage is what an instance's tasks hold: the reserved resources of every
// task not yet stopped, and the host ports they reported binding.
func usage(tasks []*taskRecord, instanceARN string) (res resources, running, pending int32, groups map[string]int) {
	groups = map[string]int{}
	for _, t := range tasks {
		if t.Task.ContainerInstanceARN != instanceARN || !t.holding() {
			continue
		}
		if t.Task.LastStatus == ecs.StatusRunning {
			running++
		} else {
			pending++
		}
		if t.live() {
			groups[t.Task.Group]++
		}
		res.CPU += t.Reserved.CPU
		res.Memory += t.Reserved.Memory
		res.TCP = append(res.TCP, t.Reserved.TCP...)
		res.UDP = append(res.UDP, t.Reserved.UDP...)
		for _, c := range t.Task.Containers {
			for _, nb := range c.NetworkBindings {
				if nb.HostPort == nil || *nb.HostPort == 0 {
					continue
				}
				if nb.Protocol == ecs.ProtocolUDP {
					res.UDP = append(res.UDP, *nb.HostPort)
				} else {
					res.TCP = append(res.TCP, *nb.HostPort)
				}
			}
		}
	}
	return res, running, pending, groups
}

// registered returns an instance's registered amount of an INTEGER
// resource and the ports of a STRINGSET one.
func registered(rs []ecs.Resource, name string) (int64, []int32) {
	for _, r := range rs {
		if r.Name != name {
			continue
		}
		var ports []int32
		for _, s := range r.StringSetValue {
			if p := atoi32(s); p > 0 {
				ports = append(ports, p)
			}
		}
		n := int64(r.IntegerValue)
		if n == 0 {
			n = r.LongValue
		}
		return n, ports
	}
	return 0, nil
}

// newCandidate builds the placement view of an instance.
func newCandidate(i *instanceRecord, tasks []*taskRecord) *candidate {
	used, running, _, groups := usage(tasks, i.Instance.ContainerInstanceARN)
	cpu, _ := registered(i.Instance.RegisteredResources, ecs.ResourceCPU)
	mem, _ := registered(i.Instance.RegisteredResources, ecs.ResourceMemory)
	_, tcp := registered(i.Instance.RegisteredResources, ecs.ResourcePorts)
	_, udp := registered(i.Instance.RegisteredResources, ecs.ResourcePortsUDP)
	c := &candidate{
		arn:     i.Instance.ContainerInstanceARN,
		cpuLeft: cpu - used.CPU,
		memLeft: mem - used.Memory,
		tcp:     map[int32]bool{},
		udp:     map[int32]bool{},
		groups:  groups,
		view: instanceView{
			attrs:          map[string]string{},
			ec2InstanceID:  i.Instance.EC2InstanceID,
			agentConnected: i.Instance.AgentConnected,
			runningTasks:   int(running),
			groups:         map[string]bool{},
		},
	}
	if vi := i.Instance.VersionInfo; vi != nil {
		c.view.agentVersion = vi.AgentVersion
	}
	for _, a := range i.Instance.Attributes {
		c.view.attrs[a.Name] = a.Value
	}
	for g := range groups {
		c.view.groups[g] = true
	}
	for _, p := range append(tcp, used.TCP...) {
		c.tcp[p] = true
	}
	for _, p := range append(udp, used.UDP...) {
		c.udp[p] = true
	}
	return c
}

// remainingResources is an instance's registered resources less what its
// tasks hold; PORTS lists the ports taken, reserved ones included.
func remainingResources(i *instanceRecord, tasks []*taskRecord) []ecs.Resource {
	c := newCandidate(i, tasks)
	out := make([]ecs.Resource, 0, len(i.Instance.RegisteredResources))
	for _, r := range i.Instance.RegisteredResources {
		switch r.Name {
		case ecs.ResourceCPU:
			r.IntegerValue = int32(c.cpuLeft)
		case ecs.ResourceMemory:
			r.IntegerValue = int32(c.memLeft)
		case ecs.ResourcePorts:
			r.StringSetValue = portList(c.tcp)
		case ecs.ResourcePortsUDP:
			r.StringSetValue = portList(c.udp)
		}
		out = append(out, r)
	}
	return out
}

func portList(ports map[int32]bool) []string {
	ps := make([]int, 0, len(ports))
	for p := range ports {
		ps = append(ps, int(p))
	}
	sort.Ints(ps)
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strconv.Itoa(p)
	}
	return out
}
