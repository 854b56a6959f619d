package controlplane

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	wire "github.com/ecsd-project/ecsd/wire/ecs"
)

func TestTaskDefinitionRevisions(t *testing.T) {
	h := newHarness(t)
	web1 := h.registerTaskDef("web", 128, func(in *ecs.RegisterTaskDefinitionInput) {
		in.Tags = []types.Tag{{Key: aws.String("app"), Value: aws.String("web")}}
	})
	web2 := h.registerTaskDef("web", 256)
	db1 := h.registerTaskDef("db", 512)
	if web1 != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1" || web2 != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2" ||
		db1 != "arn:aws:ecs:us-east-1:000000000000:task-definition/db:1" {
		t.Fatalf("ARNs: %s %s %s", web1, web2, db1)
	}

	for ref, want := range map[string]string{"web": web2, "web:1": web1, web2: web2, "db": db1} {
		out, err := h.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		ok(t, err)
		if got := aws.ToString(out.TaskDefinition.TaskDefinitionArn); got != want {
			t.Errorf("describe %s = %s, want %s", ref, got, want)
		}
	}
	out, err := h.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1"),
		Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	ok(t, err)
	td := out.TaskDefinition
	c := td.ContainerDefinitions[0]
	if len(out.Tags) != 1 || td.Revision != 1 || td.Status != types.TaskDefinitionStatusActive || td.NetworkMode != types.NetworkModeBridge ||
		aws.ToBool(c.Essential) != true || aws.ToInt32(c.Memory) != 128 || td.RegisteredAt == nil ||
		aws.ToString(td.RegisteredBy) != "arn:aws:iam::000000000000:user/test" || len(td.Compatibilities) != 2 {
		t.Errorf("web:1: %+v %+v tags %v", td, c, out.Tags)
	}

	list := func(in *ecs.ListTaskDefinitionsInput) []string {
		t.Helper()
		out, err := h.ecs.ListTaskDefinitions(ctx, in)
		ok(t, err)
		return out.TaskDefinitionArns
	}
	if got := list(&ecs.ListTaskDefinitionsInput{}); len(got) != 3 || got[0] != db1 {
		t.Errorf("list: %v", got)
	}
	if got := list(&ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Sort: types.SortOrderDesc}); len(got) != 2 || got[0] != web2 {
		t.Errorf("list web desc: %v", got)
	}
	if got := list(&ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("we")}); len(got) != 0 {
		t.Errorf("familyPrefix is the exact family: %v", got)
	}
	pages, err := h.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(2), Sort: types.SortOrderDesc})
	ok(t, err)
	rest, err := h.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(2), Sort: types.SortOrderDesc, NextToken: pages.NextToken})
	ok(t, err)
	if len(pages.TaskDefinitionArns) != 2 || pages.TaskDefinitionArns[0] != web2 || len(rest.TaskDefinitionArns) != 1 || rest.TaskDefinitionArns[0] != db1 {
		t.Errorf("desc pages: %v then %v", pages.TaskDefinitionArns, rest.TaskDefinitionArns)
	}

	dereg, err := h.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("db:1")})
	ok(t, err)
	if dereg.TaskDefinition.Status != types.TaskDefinitionStatusInactive || dereg.TaskDefinition.DeregisteredAt == nil {
		t.Errorf("deregistered: %+v", dereg.TaskDefinition)
	}
	if got := list(&ecs.ListTaskDefinitionsInput{}); len(got) != 2 {
		t.Errorf("active after deregistering: %v", got)
	}
	if got := list(&ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}); len(got) != 1 || got[0] != db1 {
		t.Errorf("inactive: %v", got)
	}
	// An INACTIVE revision is still described by revision, not by family.
	_, err = h.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("db:1")})
	ok(t, err)
	_, err = h.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("db")})
	wantAPIError(t, err, "ClientException")
	_, err = h.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web")})
	wantAPIError(t, err, "ClientException")

	families := func(status types.TaskDefinitionFamilyStatus, prefix string) []string {
		t.Helper()
		in := &ecs.ListTaskDefinitionFamiliesInput{Status: status}
		if prefix != "" {
			in.FamilyPrefix = aws.String(prefix)
		}
		out, err := h.ecs.ListTaskDefinitionFamilies(ctx, in)
		ok(t, err)
		return out.Families
	}
	if got := families("", ""); len(got) != 1 || got[0] != "web" {
		t.Errorf("active families: %v", got)
	}
	if got := families(types.TaskDefinitionFamilyStatusInactive, ""); len(got) != 1 || got[0] != "db" {
		t.Errorf("inactive families: %v", got)
	}
	if got := families(types.TaskDefinitionFamilyStatusAll, "d"); len(got) != 1 || got[0] != "db" {
		t.Errorf("families by prefix: %v", got)
	}
}

func TestRegisterTaskDefinitionValidation(t *testing.T) {
	h := newHarness(t)
	for name, in := range map[string]*ecs.RegisterTaskDefinitionInput{
		"no containers": {Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{}},
		"bad family":    {Family: aws.String("a b"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), Image: aws.String("i"), Memory: aws.Int32(64)}}},
		"no image":      {Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), Memory: aws.Int32(64)}}},
		"no memory":     {Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), Image: aws.String("i")}}},
		"no essential":  {Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), Image: aws.String("i"), Memory: aws.Int32(64), Essential: aws.Bool(false)}}},
		"duplicate names": {Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("c"), Image: aws.String("i"), Memory: aws.Int32(64)}, {Name: aws.String("c"), Image: aws.String("i"), Memory: aws.Int32(64)}}},
		"unknown dependency": {Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), Image: aws.String("i"), Memory: aws.Int32(64),
			DependsOn: []types.ContainerDependency{{ContainerName: aws.String("x"), Condition: types.ContainerConditionStart}}}}},
		"unknown volume": {Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), Image: aws.String("i"), Memory: aws.Int32(64),
			MountPoints: []types.MountPoint{{SourceVolume: aws.String("v"), ContainerPath: aws.String("/v")}}}}},
		"host port mismatch": {Family: aws.String("f"), NetworkMode: types.NetworkModeHost, ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), Image: aws.String("i"), Memory: aws.Int32(64),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}}}}},
		"bad memberOf": {Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), Image: aws.String("i"), Memory: aws.Int32(64)}},
			PlacementConstraints: []types.TaskDefinitionPlacementConstraint{{Type: types.TaskDefinitionPlacementConstraintTypeMemberOf, Expression: aws.String("attribute:x ==")}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.ecs.RegisterTaskDefinition(ctx, in)
			wantAPIError(t, err, "ClientException")
		})
	}
	// Task-level memory is enough; host mode fills in host ports.
	out, err := h.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("f"), Memory: aws.String("512"), Cpu: aws.String("0.5 vCPU"),
		NetworkMode: types.NetworkModeHost, ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), Image: aws.String("i"),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}}}}})
	ok(t, err)
	pm := out.TaskDefinition.ContainerDefinitions[0].PortMappings[0]
	if aws.ToInt32(pm.HostPort) != 80 || pm.Protocol != types.TransportProtocolTcp {
		t.Errorf("port mapping: %+v", pm)
	}
}

func TestRequiresAttributes(t *testing.T) {
	td := &fullTaskDefinition
	got := map[string]bool{}
	for _, a := range requiredAttributes(td) {
		got[a.Name] = true
	}
	for _, want := range []string{
		"com.amazonaws.ecs.capability.task-iam-role",
		"com.amazonaws.ecs.capability.logging-driver.awslogs",
		"com.amazonaws.ecs.capability.docker-remote-api.1.19",
		"ecs.capability.execution-role-awslogs",
		"ecs.capability.container-health-check",
		"ecs.capability.container-ordering",
		"ecs.capability.secrets.ssm.environment-variables",
		"ecs.capability.secrets.asm.environment-variables",
		"ecs.capability.execution-role-ecr-pull",
		"com.amazonaws.ecs.capability.ecr-auth",
		"ecs.capability.docker-plugin.local",
	} {
		if !got[want] {
			t.Errorf("missing %s in %v", want, got)
		}
	}
}

// fullTaskDefinition uses the features requiresAttributes is computed from.
var fullTaskDefinition = wire.TaskDefinition{
	Family:           "full",
	TaskRoleARN:      "arn:aws:iam::000000000000:role/app",
	ExecutionRoleARN: "arn:aws:iam::000000000000:role/exec",
	NetworkMode:      wire.NetworkModeBridge,
	Volumes:          []wire.Volume{{Name: "dv", DockerVolumeConfiguration: &wire.DockerVolumeConfiguration{Scope: "task"}}},
	ContainerDefinitions: []wire.ContainerDefinition{{
		Name:             "web",
		Image:            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web:1",
		HealthCheck:      &wire.HealthCheck{Command: []string{"CMD", "true"}},
		LogConfiguration: &wire.LogConfiguration{LogDriver: "awslogs"},
		DependsOn:        []wire.ContainerDependency{{ContainerName: "side", Condition: "START"}},
		Secrets: []wire.Secret{
			{Name: "A", ValueFrom: "arn:aws:ssm:eu-west-1:111122223333:parameter/a"},
			{Name: "B", ValueFrom: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:b"},
		},
	}, {Name: "side", Image: "busybox"}},
}
