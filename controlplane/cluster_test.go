package controlplane

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestClusterLifecycle(t *testing.T) {
	h := newHarness(t)
	out, err := h.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	ok(t, err)
	c := out.Cluster
	if aws.ToString(c.ClusterArn) != "arn:aws:ecs:us-east-1:000000000000:cluster/prod" || aws.ToString(c.Status) != "ACTIVE" ||
		len(c.Tags) != 1 || len(c.Settings) != 1 || aws.ToString(c.Settings[0].Value) != "disabled" {
		t.Errorf("created: %+v", c)
	}
	// Creating it again returns the same cluster.
	again, err := h.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")})
	ok(t, err)
	if aws.ToString(again.Cluster.ClusterArn) != aws.ToString(c.ClusterArn) {
		t.Errorf("second create: %+v", again.Cluster)
	}
	// No name is the default cluster.
	def, err := h.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{})
	ok(t, err)
	if aws.ToString(def.Cluster.ClusterName) != "default" {
		t.Errorf("default cluster: %+v", def.Cluster)
	}
	_, err = h.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bad name")})
	wantAPIError(t, err, "InvalidParameterException")

	list, err := h.ecs.ListClusters(ctx, &ecs.ListClustersInput{})
	ok(t, err)
	if len(list.ClusterArns) != 2 {
		t.Errorf("list: %v", list.ClusterArns)
	}

	desc, err := h.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod", "arn:aws:ecs:us-east-1:000000000000:cluster/nope"},
		Include: []types.ClusterField{types.ClusterFieldTags}})
	ok(t, err)
	if len(desc.Clusters) != 1 || len(desc.Clusters[0].Tags) != 1 || len(desc.Failures) != 1 ||
		aws.ToString(desc.Failures[0].Reason) != "MISSING" || aws.ToString(desc.Failures[0].Arn) != "arn:aws:ecs:us-east-1:000000000000:cluster/nope" {
		t.Errorf("describe: %+v", desc)
	}

	// A cluster with a container instance cannot be deleted.
	arn := h.registerInstance("prod", 1024, 1024, nil)
	_, err = h.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("prod")})
	wantAPIError(t, err, "ClusterContainsContainerInstancesException")
	desc, err = h.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"}})
	ok(t, err)
	if desc.Clusters[0].RegisteredContainerInstancesCount != 1 {
		t.Errorf("count: %+v", desc.Clusters[0])
	}
	_, err = h.ecs.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("prod"), ContainerInstance: aws.String(arn)})
	ok(t, err)

	del, err := h.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/prod")})
	ok(t, err)
	if aws.ToString(del.Cluster.Status) != "INACTIVE" {
		t.Errorf("deleted: %+v", del.Cluster)
	}
	desc, err = h.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"}})
	ok(t, err)
	if len(desc.Clusters) != 1 || aws.ToString(desc.Clusters[0].Status) != "INACTIVE" {
		t.Errorf("describe deleted: %+v", desc)
	}
	list, err = h.ecs.ListClusters(ctx, &ecs.ListClustersInput{})
	ok(t, err)
	if len(list.ClusterArns) != 1 {
		t.Errorf("list after delete: %v", list.ClusterArns)
	}
	_, err = h.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("prod")})
	wantAPIError(t, err, "ClusterNotFoundException")
	_, err = h.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod")})
	wantAPIError(t, err, "ClusterNotFoundException")
}

func TestUnknownCluster(t *testing.T) {
	h := newHarness(t)
	_, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("nope"), TaskDefinition: aws.String("x")})
	var cnf *types.ClusterNotFoundException
	if !errorsAs(err, &cnf) || aws.ToString(cnf.Message) != "Cluster not found." {
		t.Errorf("got %v, want ClusterNotFoundException", err)
	}
	// Without a cluster, calls go to the default cluster, which does not exist yet.
	_, err = h.ecs.ListServices(ctx, &ecs.ListServicesInput{})
	wantAPIError(t, err, "ClusterNotFoundException")
}

func TestListPaging(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		h.createCluster(n)
	}
	var all []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := h.ecs.ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(2), NextToken: token})
		ok(t, err)
		all = append(all, out.ClusterArns...)
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(all) != 5 || all[0] != "arn:aws:ecs:us-east-1:000000000000:cluster/a" || all[4] != "arn:aws:ecs:us-east-1:000000000000:cluster/e" {
		t.Errorf("pages: %v", all)
	}
	_, err := h.ecs.ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(101)})
	wantAPIError(t, err, "InvalidParameterException")
	_, err = h.ecs.ListClusters(ctx, &ecs.ListClustersInput{NextToken: aws.String("!!!")})
	wantAPIError(t, err, "InvalidParameterException")
}

func TestTags(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	inst := h.registerInstance("c", 2048, 2048, nil)
	tdARN := h.registerTaskDef("web", 64)
	run, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"),
		Tags: []types.Tag{{Key: aws.String("run"), Value: aws.String("1")}}, EnableECSManagedTags: true})
	ok(t, err)
	svc, err := h.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("s"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0)})
	ok(t, err)
	for _, arn := range []string{"arn:aws:ecs:us-east-1:000000000000:cluster/c", inst, tdARN,
		aws.ToString(run.Tasks[0].TaskArn), aws.ToString(svc.Service.ServiceArn)} {
		_, err := h.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn),
			Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v1")}}})
		ok(t, err)
		_, err = h.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn),
			Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v2")}, {Key: aws.String("x"), Value: aws.String("y")}}})
		ok(t, err)
		out, err := h.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		ok(t, err)
		got := map[string]string{}
		for _, tag := range out.Tags {
			got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		if got["k"] != "v2" || got["x"] != "y" {
			t.Errorf("%s tags: %v", arn, got)
		}
		if arn == aws.ToString(run.Tasks[0].TaskArn) && (got["run"] != "1" || got["aws:ecs:clusterName"] != "c") {
			t.Errorf("task tags: %v", got)
		}
	}
	_, err = h.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:task/c/0123")})
	wantAPIError(t, err, "ResourceNotFoundException")
	_, err = h.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/zz"),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantAPIError(t, err, "ClusterNotFoundException")
}
