package controlplane

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	smithy "github.com/aws/smithy-go"
	wire "github.com/ecsd-project/ecsd/wire/ecs"
)

// The wire/ecs shapes are checked against the AWS SDK, whose model is the
// truth: every member they name exists in the SDK's schema with a
// compatible type, every request the SDK serialises decodes into them
// without loss, and every response they encode the SDK decodes fully.

var wireOperations = []struct {
	op            string
	req, resp     any
	sdkReq, sdkRe *smithy.Schema
}{
	{wire.OpCreateCluster, &wire.CreateClusterRequest{}, &wire.CreateClusterResponse{}, schemas.CreateClusterRequest, schemas.CreateClusterResponse},
	{wire.OpDeleteCluster, &wire.DeleteClusterRequest{}, &wire.DeleteClusterResponse{}, schemas.DeleteClusterRequest, schemas.DeleteClusterResponse},
	{wire.OpDescribeClusters, &wire.DescribeClustersRequest{}, &wire.DescribeClustersResponse{}, schemas.DescribeClustersRequest, schemas.DescribeClustersResponse},
	{wire.OpListClusters, &wire.ListClustersRequest{}, &wire.ListClustersResponse{}, schemas.ListClustersRequest, schemas.ListClustersResponse},
	{wire.OpRegisterTaskDefinition, &wire.RegisterTaskDefinitionRequest{}, &wire.RegisterTaskDefinitionResponse{}, schemas.RegisterTaskDefinitionRequest, schemas.RegisterTaskDefinitionResponse},
	{wire.OpDeregisterTaskDefinition, &wire.DeregisterTaskDefinitionRequest{}, &wire.DeregisterTaskDefinitionResponse{}, schemas.DeregisterTaskDefinitionRequest, schemas.DeregisterTaskDefinitionResponse},
	{wire.OpDescribeTaskDefinition, &wire.DescribeTaskDefinitionRequest{}, &wire.DescribeTaskDefinitionResponse{}, schemas.DescribeTaskDefinitionRequest, schemas.DescribeTaskDefinitionResponse},
	{wire.OpListTaskDefinitions, &wire.ListTaskDefinitionsRequest{}, &wire.ListTaskDefinitionsResponse{}, schemas.ListTaskDefinitionsRequest, schemas.ListTaskDefinitionsResponse},
	{wire.OpListTaskDefinitionFamilies, &wire.ListTaskDefinitionFamiliesRequest{}, &wire.ListTaskDefinitionFamiliesResponse{}, schemas.ListTaskDefinitionFamiliesRequest, schemas.ListTaskDefinitionFamiliesResponse},
	{wire.OpRunTask, &wire.RunTaskRequest{}, &wire.RunTaskResponse{}, schemas.RunTaskRequest, schemas.RunTaskResponse},
	{wire.OpStartTask, &wire.StartTaskRequest{}, &wire.StartTaskResponse{}, schemas.StartTaskRequest, schemas.StartTaskResponse},
	{wire.OpStopTask, &wire.StopTaskRequest{}, &wire.StopTaskResponse{}, schemas.StopTaskRequest, schemas.StopTaskResponse},
	{wire.OpDescribeTasks, &wire.DescribeTasksRequest{}, &wire.DescribeTasksResponse{}, schemas.DescribeTasksRequest, schemas.DescribeTasksResponse},
	{wire.OpListTasks, &wire.ListTasksRequest{}, &wire.ListTasksResponse{}, schemas.ListTasksRequest, schemas.ListTasksResponse},
	{wire.OpRegisterContainerInstance, &wire.RegisterContainerInstanceRequest{}, &wire.RegisterContainerInstanceResponse{}, schemas.RegisterContainerInstanceRequest, schemas.RegisterContainerInstanceResponse},
	{wire.OpDeregisterContainerInstance, &wire.DeregisterContainerInstanceRequest{}, &wire.DeregisterContainerInstanceResponse{}, schemas.DeregisterContainerInstanceRequest, schemas.DeregisterContainerInstanceResponse},
	{wire.OpDescribeContainerInstances, &wire.DescribeContainerInstancesRequest{}, &wire.DescribeContainerInstancesResponse{}, schemas.DescribeContainerInstancesRequest, schemas.DescribeContainerInstancesResponse},
	{wire.OpListContainerInstances, &wire.ListContainerInstancesRequest{}, &wire.ListContainerInstancesResponse{}, schemas.ListContainerInstancesRequest, schemas.ListContainerInstancesResponse},
	{wire.OpUpdateContainerInstancesState, &wire.UpdateContainerInstancesStateRequest{}, &wire.UpdateContainerInstancesStateResponse{}, schemas.UpdateContainerInstancesStateRequest, schemas.UpdateContainerInstancesStateResponse},
	{wire.OpPutAttributes, &wire.PutAttributesRequest{}, &wire.PutAttributesResponse{}, schemas.PutAttributesRequest, schemas.PutAttributesResponse},
	{wire.OpDiscoverPollEndpoint, &wire.DiscoverPollEndpointRequest{}, &wire.DiscoverPollEndpointResponse{}, schemas.DiscoverPollEndpointRequest, schemas.DiscoverPollEndpointResponse},
	{wire.OpSubmitTaskStateChange, &wire.SubmitTaskStateChangeRequest{}, &wire.SubmitTaskStateChangeResponse{}, schemas.SubmitTaskStateChangeRequest, schemas.SubmitTaskStateChangeResponse},
	{wire.OpSubmitContainerStateChange, &wire.SubmitContainerStateChangeRequest{}, &wire.SubmitContainerStateChangeResponse{}, schemas.SubmitContainerStateChangeRequest, schemas.SubmitContainerStateChangeResponse},
	{wire.OpCreateService, &wire.CreateServiceRequest{}, &wire.CreateServiceResponse{}, schemas.CreateServiceRequest, schemas.CreateServiceResponse},
	{wire.OpUpdateService, &wire.UpdateServiceRequest{}, &wire.UpdateServiceResponse{}, schemas.UpdateServiceRequest, schemas.UpdateServiceResponse},
	{wire.OpDeleteService, &wire.DeleteServiceRequest{}, &wire.DeleteServiceResponse{}, schemas.DeleteServiceRequest, schemas.DeleteServiceResponse},
	{wire.OpDescribeServices, &wire.DescribeServicesRequest{}, &wire.DescribeServicesResponse{}, schemas.DescribeServicesRequest, schemas.DescribeServicesResponse},
	{wire.OpListServices, &wire.ListServicesRequest{}, &wire.ListServicesResponse{}, schemas.ListServicesRequest, schemas.ListServicesResponse},
	{wire.OpTagResource, &wire.TagResourceRequest{}, &wire.TagResourceResponse{}, schemas.TagResourceRequest, schemas.TagResourceResponse},
	{wire.OpListTagsForResource, &wire.ListTagsForResourceRequest{}, &wire.ListTagsForResourceResponse{}, schemas.ListTagsForResourceRequest, schemas.ListTagsForResourceResponse},
}

var timestampType = reflect.TypeOf(wire.Timestamp{})

// agentModelOnly are request members of the ECS agent's own API model
// that the public SDK's model lacks; the agent sends them.
var agentModelOnly = map[string]bool{
	"RegisterContainerInstance.clientToken": true,
	"DiscoverPollEndpoint.zoneId":           true,
}

// agentOnly says whether path.name (path a request shape, "…Request" or
// "…Input") is in agentModelOnly.
func agentOnly(path, name string) bool {
	op := strings.TrimSuffix(strings.TrimSuffix(path, "Request"), "Input")
	return agentModelOnly[op+"."+name]
}

// jsonName is the wire name of a struct field, or "".
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// checkSchema checks every member of the wire type t against the SDK
// schema s.
func checkSchema(t *testing.T, path string, typ reflect.Type, s *smithy.Schema) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	st := s.Type()
	ok := false
	switch typ.Kind() {
	case reflect.String:
		ok = st == smithy.ShapeTypeString || st == smithy.ShapeTypeEnum
	case reflect.Bool:
		ok = st == smithy.ShapeTypeBoolean
	case reflect.Int32:
		ok = st == smithy.ShapeTypeInteger || st == smithy.ShapeTypeIntEnum
	case reflect.Int64:
		ok = st == smithy.ShapeTypeLong
	case reflect.Float64:
		ok = st == smithy.ShapeTypeDouble || st == smithy.ShapeTypeFloat
	case reflect.Slice:
		if ok = st == smithy.ShapeTypeList || st == smithy.ShapeTypeSet; ok {
			checkSchema(t, path+"[]", typ.Elem(), s.ListMember())
		}
	case reflect.Map:
		if ok = st == smithy.ShapeTypeMap; ok {
			checkSchema(t, path+"{}", typ.Elem(), s.MapValue())
		}
	case reflect.Struct:
		if typ == timestampType {
			ok = st == smithy.ShapeTypeTimestamp
			break
		}
		if ok = st == smithy.ShapeTypeStructure; ok {
			for i := range typ.NumField() {
				f := typ.Field(i)
				name := jsonName(f)
				if name == "" {
					continue
				}
				m := s.Member(name)
				if m == nil && agentOnly(path, name) {
					continue
				}
				if m == nil {
					t.Errorf("%s.%s: the SDK's %s has no member %q", path, name, shapeName(s), name)
					continue
				}
				checkSchema(t, path+"."+name, f.Type, m)
			}
		}
	}
	if !ok {
		t.Errorf("%s: Go type %s does not fit the SDK's shape type %d (%s)", path, typ, st, shapeName(s))
	}
}

// shapeName names a schema, or the shape a member schema targets.
func shapeName(s *smithy.Schema) string {
	if n := s.ID().Name; n != "" {
		return n
	}
	return s.TargetID().Name
}

func TestWireShapesMatchSDKSchemas(t *testing.T) {
	for _, op := range wireOperations {
		checkSchema(t, op.op+"Request", reflect.TypeOf(op.req), op.sdkReq)
		checkSchema(t, op.op+"Response", reflect.TypeOf(op.resp), op.sdkRe)
	}
}

var fixedTime = time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC)

// sdkField finds the SDK struct field for a wire member name.
func sdkField(v reflect.Value, name string) (reflect.Value, bool) {
	typ := v.Type()
	for i := range typ.NumField() {
		if strings.EqualFold(typ.Field(i).Name, name) {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// fillSDK sets every member of the SDK value v that the wire type wt has
// to a non-zero value.
func fillSDK(t *testing.T, path string, v reflect.Value, wt reflect.Type) {
	for wt.Kind() == reflect.Pointer {
		wt = wt.Elem()
	}
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(v.Type().Elem()))
		v = v.Elem()
	}
	switch {
	case v.Type() == reflect.TypeOf(time.Time{}):
		v.Set(reflect.ValueOf(fixedTime))
	case v.Kind() == reflect.String:
		v.SetString("v-" + path[strings.LastIndex(path, ".")+1:])
	case v.Kind() == reflect.Bool:
		v.SetBool(true)
	case v.Kind() == reflect.Int32 || v.Kind() == reflect.Int64:
		v.SetInt(7)
	case v.Kind() == reflect.Float64:
		v.SetFloat(1.5)
	case v.Kind() == reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillSDK(t, path+"[]", v.Index(0), wt.Elem())
	case v.Kind() == reflect.Map:
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		fillSDK(t, path+"{}", e, wt.Elem())
		m.SetMapIndex(reflect.ValueOf("k"), e)
		v.Set(m)
	case v.Kind() == reflect.Struct:
		for i := range wt.NumField() {
			f := wt.Field(i)
			name := jsonName(f)
			if name == "" {
				continue
			}
			sf, ok := sdkField(v, name)
			if !ok && agentOnly(path, name) {
				continue
			}
			if !ok {
				t.Errorf("%s.%s: no such field in the SDK's %s", path, name, v.Type())
				continue
			}
			fillSDK(t, path+"."+name, sf, f.Type)
		}
	default:
		t.Errorf("%s: cannot fill %s", path, v.Type())
	}
}

// fillWire sets every field of the wire value v to a non-zero value.
func fillWire(v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(v.Type().Elem()))
		v = v.Elem()
	}
	switch {
	case v.Type() == timestampType:
		v.Set(reflect.ValueOf(wire.At(fixedTime)))
	case v.Kind() == reflect.String:
		v.SetString("x")
	case v.Kind() == reflect.Bool:
		v.SetBool(true)
	case v.Kind() == reflect.Int32 || v.Kind() == reflect.Int64:
		v.SetInt(9)
	case v.Kind() == reflect.Float64:
		v.SetFloat(2.5)
	case v.Kind() == reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillWire(v.Index(0))
	case v.Kind() == reflect.Map:
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		fillWire(e)
		m.SetMapIndex(reflect.ValueOf("k"), e)
		v.Set(m)
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if jsonName(v.Type().Field(i)) != "" {
				fillWire(v.Field(i))
			}
		}
	}
}

// checkDecoded checks that every member of the wire value w arrived in the
// SDK value s.
func checkDecoded(t *testing.T, path string, w, s reflect.Value) {
	for w.Kind() == reflect.Pointer {
		w = w.Elem()
	}
	for s.Kind() == reflect.Pointer || s.Kind() == reflect.Interface {
		if s.IsNil() {
			t.Errorf("%s: lost", path)
			return
		}
		s = s.Elem()
	}
	switch {
	case w.Type() == timestampType:
		if got, ok := s.Interface().(time.Time); !ok || !got.Equal(fixedTime) {
			t.Errorf("%s: timestamp decoded as %v", path, s.Interface())
		}
	case w.Kind() == reflect.Slice:
		if s.Len() != 1 {
			t.Errorf("%s: %d items", path, s.Len())
			return
		}
		checkDecoded(t, path+"[]", w.Index(0), s.Index(0))
	case w.Kind() == reflect.Map:
		if s.Len() != 1 {
			t.Errorf("%s: %d entries", path, s.Len())
		}
	case w.Kind() == reflect.Struct:
		for i := range w.NumField() {
			name := jsonName(w.Type().Field(i))
			if name == "" {
				continue
			}
			sf, ok := sdkField(s, name)
			if !ok {
				t.Errorf("%s.%s: no such field in the SDK's %s", path, name, s.Type())
				continue
			}
			checkDecoded(t, path+"."+name, w.Field(i), sf)
		}
	default:
		if s.IsZero() {
			t.Errorf("%s: lost (%v)", path, w.Interface())
		}
	}
}

// prune drops nulls, empty lists and empty objects.
func prune(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if p, ok := prune(e); ok {
				out[k] = p
			}
		}
		return out, len(out) > 0
	case []any:
		if len(x) == 0 {
			return nil, false
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i], _ = prune(e)
		}
		return out, true
	}
	return v, true
}

func generic(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	p, _ := prune(v)
	return p
}

// TestWireRoundTrip drives each operation through the real SDK client
// against a server that records the request and answers with a fully
// populated wire response.
func TestWireRoundTrip(t *testing.T) {
	var mu sync.Mutex
	var lastBody []byte
	var reply []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		lastBody = b
		out := reply
		mu.Unlock()
		w.Header().Set("Content-Type", wire.ContentType)
		w.Write(out)
	}))
	defer srv.Close()
	client := ecs.NewFromConfig(aws.Config{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})

	for _, op := range wireOperations {
		t.Run(op.op, func(t *testing.T) {
			method := reflect.ValueOf(client).MethodByName(op.op)
			in := reflect.New(method.Type().In(1).Elem())
			fillSDK(t, op.op+"Input", in.Elem(), reflect.TypeOf(op.req))

			resp := reflect.New(reflect.TypeOf(op.resp).Elem())
			fillWire(resp.Elem())
			b, err := json.Marshal(resp.Interface())
			ok(t, err)
			mu.Lock()
			reply = b
			mu.Unlock()

			res := method.Call([]reflect.Value{reflect.ValueOf(ctx), in})
			if err, _ := res[1].Interface().(error); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			body := lastBody
			mu.Unlock()

			// The request decodes strictly and re-encodes to the same document.
			req := reflect.New(reflect.TypeOf(op.req).Elem()).Interface()
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(req); err != nil {
				t.Fatalf("decode request %s: %v", body, err)
			}
			again, err := json.Marshal(req)
			ok(t, err)
			if got, want := generic(t, again), generic(t, body); !reflect.DeepEqual(got, want) {
				t.Errorf("request changed in the round trip\n sdk: %s\nwire: %s", body, again)
			}

			// The response arrives whole in the SDK's output.
			checkDecoded(t, op.op+"Output", resp.Elem(), res[0].Elem())
		})
	}
}
