package controlplane

import (
	"math/rand/v2"
	"testing"

	"github.com/ecsd-project/ecsd/wire/ecs"
)

func cand(arn string, cpu, mem int64, attrs map[string]string, groups map[string]int) *candidate {
	c := &candidate{arn: arn, cpuLeft: cpu, memLeft: mem, tcp: map[int32]bool{22: true}, udp: map[int32]bool{},
		groups: map[string]int{}, view: instanceView{attrs: attrs, groups: map[string]bool{}}}
	for g, n := range groups {
		c.groups[g] = n
		c.view.groups[g] = true
	}
	if c.view.attrs == nil {
		c.view.attrs = map[string]string{}
	}
	return c
}

func TestPlace(t *testing.T) {
	memberOf := func(expr string) constraint {
		q, err := parseQuery(expr)
		if err != nil {
			t.Fatal(err)
		}
		return constraint{memberOf: q}
	}
	for _, tc := range []struct {
		name     string
		cands    []*candidate
		d        demand
		want     string
		failures []string
	}{
		{name: "default spreads by group",
			cands: []*candidate{cand("a", 1024, 1024, nil, map[string]int{"g": 2}), cand("b", 1024, 1024, nil, map[string]int{"g": 1})},
			d:     demand{res: resources{Memory: 128}, group: "g"}, want: "b"},
		{name: "ties go to the first ARN",
			cands: []*candidate{cand("b", 1024, 1024, nil, nil), cand("a", 1024, 1024, nil, nil)},
			d:     demand{res: resources{Memory: 128}, group: "g"}, want: "a"},
		{name: "binpack memory",
			cands: []*candidate{cand("a", 1024, 4096, nil, nil), cand("b", 1024, 512, nil, nil), cand("c", 1024, 100, nil, nil)},
			d:     demand{res: resources{Memory: 128}, strategies: []ecs.PlacementStrategy{{Type: "binpack", Field: "memory"}}}, want: "b"},
		{name: "binpack cpu",
			cands: []*candidate{cand("a", 512, 4096, nil, nil), cand("b", 2048, 512, nil, nil)},
			d:     demand{res: resources{CPU: 256}, strategies: []ecs.PlacementStrategy{{Type: "binpack", Field: "cpu"}}}, want: "a"},
		{name: "spread by attribute",
			cands: []*candidate{cand("a", 1024, 1024, map[string]string{"zone": "x"}, map[string]int{"g": 1}),
				cand("b", 1024, 1024, map[string]string{"zone": "x"}, nil), cand("c", 1024, 1024, map[string]string{"zone": "y"}, nil)},
			d: demand{group: "g", strategies: []ecs.PlacementStrategy{{Type: "spread", Field: "attribute:zone"}}}, want: "c"},
		{name: "strategies chain",
			cands: []*candidate{cand("a", 1024, 300, map[string]string{"zone": "x"}, nil), cand("b", 1024, 200, map[string]string{"zone": "x"}, nil),
				cand("c", 1024, 100, map[string]string{"zone": "y"}, map[string]int{"g": 1})},
			d: demand{group: "g", strategies: []ecs.PlacementStrategy{{Type: "spread", Field: "attribute:zone"}, {Type: "binpack", Field: "memory"}}}, want: "b"},
		{name: "required attribute with value",
			cands: []*candidate{cand("a", 1024, 1024, map[string]string{"v": "1"}, nil), cand("b", 1024, 1024, map[string]string{"v": "2"}, nil)},
			d:     demand{requires: []ecs.Attribute{{Name: "v", Value: "2"}}}, want: "b"},
		{name: "memberOf",
			cands: []*candidate{cand("a", 1024, 1024, map[string]string{"s": "p"}, nil), cand("b", 1024, 1024, nil, nil)},
			d:     demand{constraints: []constraint{memberOf("attribute:s == p")}}, want: "a"},
		{name: "distinctInstance",
			cands: []*candidate{cand("a", 1024, 1024, nil, map[string]int{"g": 1}), cand("b", 1024, 1024, nil, map[string]int{"other": 1})},
			d:     demand{group: "g", constraints: []constraint{{distinct: true}}}, want: "b"},
		{name: "nothing fits",
			cands:    []*candidate{cand("a", 100, 1024, nil, nil), cand("b", 1024, 100, nil, nil), cand("c", 1024, 1024, nil, nil), cand("d", 1024, 1024, nil, nil)},
			d:        demand{res: resources{CPU: 200, Memory: 200, TCP: []int32{22}}, requires: nil, constraints: []constraint{memberOf("attribute:x !exists")}},
			failures: []string{"a:RESOURCE:CPU", "b:RESOURCE:MEMORY", "c:RESOURCE:PORTS", "d:RESOURCE:PORTS"}},
		{name: "udp ports",
			cands: []*candidate{func() *candidate { c := cand("a", 1024, 1024, nil, nil); c.udp[53] = true; return c }()},
			d:     demand{res: resources{UDP: []int32{53}}}, failures: []string{"a:RESOURCE:PORTS_UDP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, failures := place(tc.cands, &tc.d, rand.New(rand.NewPCG(1, 2)))
			if tc.want != "" {
				if got == nil || got.arn != tc.want {
					t.Fatalf("placed on %v (failures %v), want %s", got, failures, tc.want)
				}
				return
			}
			if got != nil {
				t.Fatalf("placed on %s, want failures", got.arn)
			}
			var fs []string
			for _, f := range failures {
				fs = append(fs, f.ARN+":"+f.Reason)
			}
			if len(fs) != len(tc.failures) {
				t.Fatalf("failures %v, want %v", fs, tc.failures)
			}
			for i := range fs {
				if fs[i] != tc.failures[i] {
					t.Errorf("failures %v, want %v", fs, tc.failures)
				}
			}
		})
	}
}

func TestTaskDemand(t *testing.T) {
	mem := func(n int32) *int32 { return &n }
	td := &ecs.TaskDefinition{NetworkMode: "bridge", ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "a", CPU: 256, Memory: mem(512), MemoryReservation: mem(128),
			PortMappings: []ecs.PortMapping{{ContainerPort: mem(80), HostPort: mem(8080), Protocol: "tcp"}, {ContainerPort: mem(81), Protocol: "tcp"},
				{ContainerPort: mem(53), HostPort: mem(53), Protocol: "udp"}}},
		{Name: "b", CPU: 128, Memory: mem(64)},
	}}
	r := taskDemand(td, nil)
	if r.CPU != 384 || r.Memory != 192 || len(r.TCP) != 1 || r.TCP[0] != 8080 || len(r.UDP) != 1 || r.UDP[0] != 53 {
		t.Errorf("demand: %+v", r)
	}
	// Task-level sizes win; overrides change containers.
	td.CPU, td.Memory = "1 vcpu", "1GB"
	if r := taskDemand(td, nil); r.CPU != 1024 || r.Memory != 1024 {
		t.Errorf("task-level demand: %+v", r)
	}
	td.CPU, td.Memory = "", ""
	r = taskDemand(td, &ecs.TaskOverride{ContainerOverrides: []ecs.ContainerOverride{{Name: "b", Memory: mem(1000), CPU: mem(0)}}})
	if r.CPU != 256 || r.Memory != 1128 {
		t.Errorf("overridden demand: %+v", r)
	}
	// Host mode reserves container port ranges.
	td.NetworkMode = "host"
	td.ContainerDefinitions = []ecs.ContainerDefinition{{Name: "a", PortMappings: []ecs.PortMapping{{ContainerPortRange: "9000-9002", Protocol: "tcp"}}}}
	if r := taskDemand(td, nil); len(r.TCP) != 3 {
		t.Errorf("range demand: %+v", r)
	}
}
