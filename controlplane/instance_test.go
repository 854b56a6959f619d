package controlplane

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	wire "github.com/ecsd-project/ecsd/wire/ecs"
)

var instanceARNPattern = regexp.MustCompile(`^arn:aws:ecs:us-east-1:000000000000:container-instance/prod/[0-9a-f]{32}$`)

func TestRegisterContainerInstance(t *testing.T) {
	h := newHarness(t)
	_, err := h.ecs.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("prod"),
		TotalResources: totalResources(1024, 1024)})
	wantAPIError(t, err, "ClusterNotFoundException")
	h.createCluster("prod")

	attrs := []types.Attribute{
		{Name: aws.String("ecs.capability.external")},
		{Name: aws.String("ecs.os-type"), Value: aws.String("linux")},
		{Name: aws.String("stack"), Value: aws.String("prod")},
	}
	first, err := h.ecs.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster:                           aws.String("prod"),
		InstanceIdentityDocument:          aws.String(""),
		InstanceIdentityDocumentSignature: aws.String(""),
		TotalResources:                    totalResources(2048, 3900),
		Attributes:                        attrs,
		VersionInfo:                       &types.VersionInfo{AgentVersion: aws.String("1.0.0"), DockerVersion: aws.String("containerd")},
		Tags:                              []types.Tag{{Key: aws.String("host"), Value: aws.String("a")}},
	})
	ok(t, err)
	ci := first.ContainerInstance
	arn := aws.ToString(ci.ContainerInstanceArn)
	if !instanceARNPattern.MatchString(arn) || aws.ToString(ci.Status) != "ACTIVE" || ci.AgentConnected || ci.RegisteredAt == nil ||
		len(ci.RegisteredResources) != 4 || len(ci.Tags) != 1 {
		t.Fatalf("registered: %+v", ci)
	}
	// Every attribute sent comes back unchanged, or the agent exits.
	for _, a := range attrs {
		found := false
		for _, b := range ci.Attributes {
			found = found || (aws.ToString(a.Name) == aws.ToString(b.Name) && aws.ToString(a.Value) == aws.ToString(b.Value))
		}
		if !found {
			t.Errorf("attribute %s=%s not echoed: %+v", aws.ToString(a.Name), aws.ToString(a.Value), ci.Attributes)
		}
	}
	if r := remaining(*ci, "MEMORY"); r.IntegerValue != 3900 {
		t.Errorf("remaining memory: %+v", r)
	}

	// Re-registration with the ARN keeps it and takes the new totals.
	again, err := h.ecs.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String("prod"), ContainerInstanceArn: aws.String(arn),
		TotalResources: totalResources(4096, 8000), Attributes: attrs[:2],
	})
	ok(t, err)
	if aws.ToString(again.ContainerInstance.ContainerInstanceArn) != arn || remaining(*again.ContainerInstance, "CPU").IntegerValue != 4096 {
		t.Errorf("re-registered: %+v", again.ContainerInstance)
	}
	if len(again.ContainerInstance.Attributes) != 3 {
		t.Errorf("custom attributes kept on re-registration: %+v", again.ContainerInstance.Attributes)
	}
	_, err = h.ecs.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String("prod"), ContainerInstanceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:container-instance/other/0123"),
		TotalResources: totalResources(1, 1)})
	wantAPIError(t, err, "InvalidParameterException")

	other := h.registerInstance("prod", 1024, 1024, map[string]string{"stack": "dev"})
	list := func(in *ecs.ListContainerInstancesInput) []string {
		t.Helper()
		in.Cluster = aws.String("prod")
		out, err := h.ecs.ListContainerInstances(ctx, in)
		ok(t, err)
		return out.ContainerInstanceArns
	}
	if got := list(&ecs.ListContainerInstancesInput{}); len(got) != 2 {
		t.Errorf("list: %v", got)
	}
	if got := list(&ecs.ListContainerInstancesInput{Filter: aws.String("attribute:stack == prod")}); len(got) != 1 || got[0] != arn {
		t.Errorf("filter: %v", got)
	}
	_, err = h.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("prod"), Filter: aws.String("attribute:stack ==")})
	wantAPIError(t, err, "InvalidParameterException")

	// PutAttributes by ID.
	id := arn[strings.LastIndex(arn, "/")+1:]
	_, err = h.ecs.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("prod"), Attributes: []types.Attribute{
		{Name: aws.String("stack"), Value: aws.String("staging"), TargetId: aws.String(id), TargetType: types.TargetTypeContainerInstance}}})
	ok(t, err)
	if got := list(&ecs.ListContainerInstancesInput{Filter: aws.String("attribute:stack == staging")}); len(got) != 1 || got[0] != arn {
		t.Errorf("after PutAttributes: %v", got)
	}
	_, err = h.ecs.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("prod"), Attributes: []types.Attribute{
		{Name: aws.String("x"), TargetId: aws.String("0000")}}})
	wantAPIError(t, err, "InvalidParameterException")

	upd, err := h.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("prod"),
		ContainerInstances: []string{other, "nope"}, Status: types.ContainerInstanceStatusDraining})
	ok(t, err)
	if len(upd.ContainerInstances) != 1 || aws.ToString(upd.ContainerInstances[0].Status) != "DRAINING" || len(upd.Failures) != 1 {
		t.Errorf("drain: %+v", upd)
	}
	if got := list(&ecs.ListContainerInstancesInput{Status: types.ContainerInstanceStatusDraining}); len(got) != 1 || got[0] != other {
		t.Errorf("draining: %v", got)
	}
	_, err = h.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("prod"),
		ContainerInstances: []string{other}, Status: types.ContainerInstanceStatusRegistering})
	wantAPIError(t, err, "InvalidParameterException")

	desc, err := h.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("prod"),
		ContainerInstances: []string{id, "ffff"}, Include: []types.ContainerInstanceField{types.ContainerInstanceFieldTags}})
	ok(t, err)
	if len(desc.ContainerInstances) != 1 || len(desc.ContainerInstances[0].Tags) != 1 || len(desc.Failures) != 1 ||
		aws.ToString(desc.Failures[0].Arn) != "arn:aws:ecs:us-east-1:000000000000:container-instance/prod/ffff" {
		t.Errorf("describe: %+v", desc)
	}
}

func TestDeregisterContainerInstance(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	inst := h.registerInstance("c", 1024, 1024, nil)
	h.registerTaskDef("t", 128)
	run, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t")})
	ok(t, err)
	taskARN := aws.ToString(run.Tasks[0].TaskArn)
	h.report("c", taskARN, "RUNNING")

	_, err = h.ecs.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String(inst)})
	wantAPIError(t, err, "InvalidParameterException")
	out, err := h.ecs.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"),
		ContainerInstance: aws.String(inst), Force: aws.Bool(true)})
	ok(t, err)
	if aws.ToString(out.ContainerInstance.Status) != "INACTIVE" {
		t.Errorf("deregistered: %+v", out.ContainerInstance)
	}
	if task := h.describeTask("c", taskARN); aws.ToString(task.LastStatus) != "STOPPED" {
		t.Errorf("task on a deregistered instance: %+v", task)
	}
	_, err = h.ecs.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("c"),
		ContainerInstanceArn: aws.String(inst), TotalResources: totalResources(1024, 1024)})
	wantAPIError(t, err, "ClientException")
	_, err = h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t")})
	wantAPIError(t, err, "InvalidParameterException")
}

func TestDiscoverPollEndpoint(t *testing.T) {
	h := newHarness(t)
	out, err := h.ecs.DiscoverPollEndpoint(ctx, &ecs.DiscoverPollEndpointInput{Cluster: aws.String("c"), ContainerInstance: aws.String("x")})
	ok(t, err)
	want := h.srv.URL + "/"
	if aws.ToString(out.Endpoint) != want || aws.ToString(out.TelemetryEndpoint) != want+"tcs" {
		t.Errorf("endpoints: %s %s, want %s and %stcs", aws.ToString(out.Endpoint), aws.ToString(out.TelemetryEndpoint), want, want)
	}

	h2 := newHarness(t, func(c *Config) {
		c.ACSEndpoint = "https://acs.example/"
		c.TCSEndpoint = "https://tcs.example/"
	})
	out, err = h2.ecs.DiscoverPollEndpoint(ctx, &ecs.DiscoverPollEndpointInput{Cluster: aws.String("c")})
	ok(t, err)
	if aws.ToString(out.Endpoint) != "https://acs.example/" || aws.ToString(out.TelemetryEndpoint) != "https://tcs.example/" {
		t.Errorf("configured endpoints: %+v", out)
	}
}

// TestRegisterClientTokenIsIdempotent: a first registration retried with
// the same client token (the agent lost the answer) gets the same
// instance; another token, or another principal, gets a new one.
func TestRegisterClientTokenIsIdempotent(t *testing.T) {
	h := newHarness(t)
	h.createCluster("prod")
	register := func(who, token string) string {
		t.Helper()
		ctx := context.WithValue(ctx, principalKey{}, who)
		out, err := h.cp.registerContainerInstance(ctx, &wire.RegisterContainerInstanceRequest{Cluster: "prod",
			TotalResources: []wire.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 1024}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 512}},
			ClientToken:    token})
		ok(t, err)
		return out.ContainerInstance.ContainerInstanceARN
	}
	a := register("arn:aws:sts::000000000000:assumed-role/r/mi-1", "tok-1")
	if again := register("arn:aws:sts::000000000000:assumed-role/r/mi-1", "tok-1"); again != a {
		t.Errorf("retry with the same token registered a new instance: %s, then %s", a, again)
	}
	if b := register("arn:aws:sts::000000000000:assumed-role/r/mi-1", "tok-2"); b == a {
		t.Error("a new token got the old instance")
	}
	if c := register("arn:aws:sts::000000000000:assumed-role/r/mi-2", "tok-1"); c == a {
		t.Error("another principal's token reuse got the old instance")
	}
}
