package acs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
)

// decodeStrict decodes data into v, failing on any field v does not know.
func decodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
}

// prune drops nulls, empty lists and empty objects, which the types omit
// when they encode.
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
	default:
		return v, true
	}
}

func generic(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	p, _ := prune(v)
	return p
}

// roundTrip decodes one framed message strictly into body, re-encodes it in
// its envelope and checks that nothing but empty values was lost.
func roundTrip(t *testing.T, frame []byte, wantType string, body any) {
	t.Helper()
	var env Message
	decodeStrict(t, frame, &env)
	if env.Type != wantType {
		t.Fatalf("type = %q, want %q", env.Type, wantType)
	}
	decodeStrict(t, env.Message, body)
	inner, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(Message{Type: env.Type, Message: inner})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := generic(t, out), generic(t, frame); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the message\n got: %s\nwant: %s", out, frame)
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	frame, err := os.ReadFile("testdata/payload.json")
	if err != nil {
		t.Fatal(err)
	}
	var msg PayloadMessage
	roundTrip(t, frame, TypePayloadMessage, &msg)

	if msg.MessageID != "6f1e..." || msg.SeqNum != 42 || msg.GeneratedAt != 1700000000000 ||
		msg.ClusterARN != "arn:aws:ecs:us-east-1:111122223333:cluster/default" || msg.Timeline != nil {
		t.Errorf("envelope fields: %+v", msg)
	}
	if len(msg.Tasks) != 1 {
		t.Fatalf("tasks: %d", len(msg.Tasks))
	}
	task := msg.Tasks[0]
	if task.Family != "nginx" || task.Version != "3" || task.DesiredStatus != DesiredStatusRunning ||
		task.NetworkMode != NetworkModeBridge || task.LaunchType != "EXTERNAL" || task.TaskDefinitionAccountID != "111122223333" {
		t.Errorf("task fields: %+v", task)
	}
	rc := task.RoleCredentials
	if rc == nil || rc.CredentialsID != "c1" || string(rc.SecretAccessKey) != "..." || string(rc.SessionToken) != "..." ||
		rc.Expiration != "2024-01-01T06:00:00Z" {
		t.Errorf("role credentials: %#v", rc)
	}
	if len(task.Containers) != 1 {
		t.Fatalf("containers: %d", len(task.Containers))
	}
	c := task.Containers[0]
	if c.Name != "web" || c.CPU == nil || *c.CPU != 256 || c.Memory == nil || *c.Memory != 256 ||
		c.Essential == nil || !*c.Essential || c.Environment["A"] != "b" || c.StopTimeout == nil || *c.StopTimeout != 30 {
		t.Errorf("container fields: %+v", c)
	}
	if c.Privileged != nil {
		t.Errorf("privileged should be absent, got %v", *c.Privileged)
	}
	if len(c.PortMappings) != 1 || *c.PortMappings[0].ContainerPort != 80 || *c.PortMappings[0].HostPort != 8080 {
		t.Errorf("port mappings: %+v", c.PortMappings)
	}
	if c.DockerConfig == nil || c.DockerConfig.Config != "{}" || c.DockerConfig.HostConfig != `{"CapAdd":[],"CapDrop":[]}` ||
		c.DockerConfig.Version != "1.17" {
		t.Errorf("docker config: %+v", c.DockerConfig)
	}
}

// The other examples of the protocol reference, section 11.
func TestExamplesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		frame string
		typ   string
		body  any
	}{
		{`{"type":"AckRequest","message":{"cluster":"arn:aws:ecs:...:cluster/default","containerInstance":"arn:aws:ecs:...:container-instance/default/0123abcd","messageId":"6f1e..."}}`,
			TypeAckRequest, &AckRequest{}},
		{`{"type":"IAMRoleCredentialsAckRequest","message":{"messageId":"6f1e...","credentialsId":"c1","expiration":"2024-01-01T06:00:00Z"}}`,
			TypeIAMRoleCredentialsAckRequest, &IAMRoleCredentialsAckRequest{}},
		{`{"type":"HeartbeatMessage","message":{"healthy":true,"messageId":"h1"}}`,
			TypeHeartbeatMessage, &HeartbeatMessage{}},
		{`{"type":"HeartbeatAckRequest","message":{"messageId":"h1"}}`,
			TypeHeartbeatAckRequest, &HeartbeatAckRequest{}},
		{`{"type":"TaskManifestMessage","message":{"clusterArn":"...","containerInstanceArn":"...","messageId":"m7","timeline":43,
		  "tasks":[{"taskArn":"arn:...:task/default/keep","taskClusterArn":"...","desiredStatus":"RUNNING"}]}}`,
			TypeTaskManifestMessage, &TaskManifestMessage{}},
		{`{"type":"TaskStopVerificationMessage","message":{"messageId":"m7","stopCandidates":[{"taskArn":"arn:...:task/default/orphan","taskClusterArn":"...","desiredStatus":"STOPPED"}]}}`,
			TypeTaskStopVerificationMessage, &TaskStopVerificationMessage{}},
		{`{"type":"TaskStopVerificationAck","message":{"messageId":"m7","generatedAt":1700000001000,"stopTasks":[{"taskArn":"arn:...:task/default/orphan","desiredStatus":"STOPPED"}]}}`,
			TypeTaskStopVerificationAck, &TaskStopVerificationAck{}},
		{`{"type":"IAMRoleCredentialsMessage","message":{"messageId":"r1","taskArn":"arn:t","taskClusterArn":"arn:c","roleType":"TaskExecution",
		  "roleCredentials":{"credentialsId":"c2","roleArn":"arn:r","accessKeyId":"AK","secretAccessKey":"SK","sessionToken":"ST","expiration":"2016-03-25T06:17:19.318+0000","credentialScope":"s"}}}`,
			TypeIAMRoleCredentialsMessage, &IAMRoleCredentialsMessage{}},
		{`{"type":"NackRequest","message":{"cluster":"c","containerInstance":"ci","messageId":"u1","reason":"updates disabled"}}`,
			TypeNackRequest, &NackRequest{}},
		{`{"type":"PerformUpdateMessage","message":{"clusterArn":"c","containerInstanceArn":"ci","messageId":"u1","updateInfo":{"location":"s3://b/k","signature":"sig"}}}`,
			TypePerformUpdateMessage, &PerformUpdateMessage{}},
		{`{"type":"InactiveInstanceException","message":{"message":"instance deregistered"}}`,
			TypeInactiveInstanceException, &Exception{}},
		{`{"type":"ConfirmAttachmentMessage","message":{"clusterArn":"c","containerInstanceArn":"ci","taskArn":"t","taskClusterArn":"c","generatedAt":1,"messageId":"a1","waitTimeoutMs":1000,
		  "attachment":{"attachmentArn":"arn:a","attachmentType":"amazonebs","attachmentProperties":[{"name":"volumeId","value":"vol-1"}]}}}`,
			TypeConfirmAttachmentMessage, &ConfirmAttachmentMessage{}},
		{`{"type":"AttachTaskNetworkInterfacesMessage","message":{"clusterArn":"c","containerInstanceArn":"ci","taskArn":"t","taskClusterArn":"c","generatedAt":1,"messageId":"e1","waitTimeoutMs":1000,
		  "elasticNetworkInterfaces":[{"name":"eth1","macAddress":"0a:00","attachmentArn":"arn:e","ec2Id":"eni-1","index":0,"interfaceAssociationProtocol":"vlan",
		    "interfaceVlanProperties":{"vlanId":"5","trunkInterfaceMacAddress":"0a:01"},"ipv4Addresses":[{"privateAddress":"10.0.0.5","primary":true}],
		    "ipv6Addresses":[{"address":"2001:db8::5","primary":true}],"domainName":["ec2.internal"],"domainNameServers":["10.0.0.2"],
		    "privateDnsName":"ip-10-0-0-5","subnetGatewayIpv4Address":"10.0.0.1/24"}]}}`,
			TypeAttachTaskNetworkInterfacesMessage, &AttachTaskNetworkInterfacesMessage{}},
	} {
		t.Run(tc.typ, func(t *testing.T) { roundTrip(t, []byte(tc.frame), tc.typ, tc.body) })
	}
}

// A task using every container setting the model has keeps them all.
func TestFullTaskRoundTrip(t *testing.T) {
	frame := `{"type":"PayloadMessage","message":{"clusterArn":"c","containerInstanceArn":"ci","messageId":"p2","seqNum":1,"generatedAt":2,"timeline":3,
	 "tasks":[{"arn":"arn:t","taskClusterArn":"c","family":"f","version":"1","desiredStatus":"RUNNING","overrides":"{}","cpu":0.5,"memory":512,
	  "pidMode":"task","ipcMode":"none","agentConfiguration":"{}","launchType":"EXTERNAL","networkMode":"host","serviceName":"svc","group":"service:svc","zone":"z",
	  "enableFaultInjection":true,"trustedExecutionConfiguration":{"isolationMode":"SHARED"},
	  "associations":[{"name":"gpu0","type":"gpu","content":{"value":"0","encoding":"identity"},"containers":["app"]}],
	  "proxyConfiguration":{"type":"APPMESH","containerName":"envoy","properties":{"IgnoredUID":"1337"}},
	  "executionRoleCredentials":{"credentialsId":"x1","accessKeyId":"AK","secretAccessKey":"SK","sessionToken":"ST","expiration":"e"},
	  "volumes":[{"name":"scratch","type":"host","host":{}},{"name":"data","type":"host","host":{"sourcePath":"/srv/data"}},
	   {"name":"dv","type":"docker","dockerVolumeConfiguration":{"scope":"task","autoprovision":true,"driver":"local","driverOpts":{"o":"bind"},"labels":{"l":"v"}}},
	   {"name":"efs","type":"efs","efsVolumeConfiguration":{"fileSystemId":"fs-1","rootDirectory":"/","transitEncryption":"ENABLED","transitEncryptionPort":2049,"authorizationConfig":{"accessPointId":"ap-1","iam":"ENABLED"}}},
	   {"name":"fsx","type":"fsxWindowsFileServer","fsxWindowsFileServerVolumeConfiguration":{"fileSystemId":"fs-2","rootDirectory":"share","authorizationConfig":{"credentialsParameter":"arn:s","domain":"corp"}}},
	   {"name":"ebs","type":"ebs","ebsVolumeConfiguration":{"volumeId":"vol-1","deleteOnTermination":false,"deviceName":"/dev/xvdf","filesystemType":"ext4"}},
	   {"name":"logs","type":"logDriverOutput","logDriverVolumeConfiguration":{"driver":"awsfirelens"}}],
	  "containers":[{"name":"app","image":"busybox","command":["sleep","1"],"entryPoint":["/bin/sh","-c"],"cpu":0,"memory":64,"essential":false,
	   "environment":{"K":"V"},"environmentFiles":[{"value":"arn:aws:s3:::b/e.env","type":"s3"}],"links":["db:db"],
	   "portMappings":[{"containerPort":80,"hostPort":0,"protocol":"udp"},{"containerPortRange":"8000-8010","protocol":"tcp"}],
	   "mountPoints":[{"sourceVolume":"data","containerPath":"/data","readOnly":true}],"volumesFrom":[{"sourceContainer":"db","readOnly":true}],
	   "privileged":false,"linuxParameters":{"capabilities":{"add":["NET_ADMIN"],"drop":["MKNOD"]},
	     "devices":[{"hostPath":"/dev/fuse","containerPath":"/dev/fuse","permissions":["read","write","mknod"]}],
	     "initProcessEnabled":true,"sharedMemorySize":128,"maxSwap":0,"swappiness":10,
	     "tmpfs":[{"containerPath":"/run/x","size":64,"mountOptions":["noexec"]}]},
	   "dockerConfig":{"config":"{\"User\":\"1000\"}","hostConfig":"{}","version":"1.17"},"healthCheckType":"docker",
	   "registryAuthentication":{"type":"ecr","ecrAuthData":{"registryId":"1","region":"us-east-1","endpointOverride":"e","useExecutionRole":true}},
	   "logsAuthStrategy":"ExecutionRole",
	   "secrets":[{"name":"S","valueFrom":"arn:ssm","type":"ENVIRONMENT_VARIABLE","region":"us-east-1","provider":"ssm","target":"CONTAINER","containerPath":"/s"}],
	   "dependsOn":[{"containerName":"db","condition":"HEALTHY"}],"startTimeout":10,"stopTimeout":0,
	   "firelensConfiguration":{"type":"fluentbit","options":{"enable-ecs-log-metadata":"true"}},
	   "managedAgents":[{"name":"ExecuteCommandAgent","properties":{"k":"v"}}],
	   "restartPolicy":{"enabled":true,"ignoredExitCodes":[0,2],"restartAttemptPeriod":60},
	   "credentialSpecs":["cs"],"networkInterfaceNames":["eth0"],"overrides":"{\"command\":[\"x\"]}","containerArn":"arn:container"},
	   {"name":"db","image":"postgres","registryAuthentication":{"type":"asm","asmAuthData":{"credentialsParameter":"arn:sm","region":"us-east-1"}}}]}]}}`
	var msg PayloadMessage
	roundTrip(t, []byte(frame), TypePayloadMessage, &msg)
	c := msg.Tasks[0].Containers[0]
	// Present zeros stay distinguishable from absent fields.
	if c.CPU == nil || *c.CPU != 0 || c.Privileged == nil || *c.Privileged || c.Essential == nil || *c.Essential ||
		c.StopTimeout == nil || *c.StopTimeout != 0 || c.LinuxParameters.MaxSwap == nil || *c.LinuxParameters.MaxSwap != 0 ||
		c.PortMappings[0].HostPort == nil || *c.PortMappings[0].HostPort != 0 || c.PortMappings[1].HostPort != nil {
		t.Errorf("zero values lost: %+v", c)
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	creds := IAMRoleCredentials{CredentialsID: "c1", AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "s3cr3t-key", SessionToken: "s3cr3t-token"}
	msg := IAMRoleCredentialsMessage{MessageID: "m1", RoleCredentials: &creds}
	payload := PayloadMessage{MessageID: "p1", Tasks: []Task{{ARN: "arn:t", RoleCredentials: &creds, ExecutionRoleCredentials: &creds}}}

	var logs bytes.Buffer
	text := slog.New(slog.NewTextHandler(&logs, nil))
	js := slog.New(slog.NewJSONHandler(&logs, nil))
	for _, l := range []*slog.Logger{text, js} {
		l.Info("x", "creds", creds, "msg", msg, "payload", payload, "task", payload.Tasks[0], "secret", creds.SecretAccessKey)
	}
	printed := fmt.Sprintf("%v %+v %#v %s %q %v %+v", creds, creds, creds, creds.SessionToken, creds.SecretAccessKey, msg, payload)
	for _, out := range []string{logs.String(), printed} {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("secret leaked: %s", out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("no [redacted] marker: %s", out)
		}
	}
	if !strings.Contains(logs.String(), "AKIDEXAMPLE") {
		t.Errorf("non-secret fields should be logged: %s", logs.String())
	}

	// On the wire the real values travel.
	b, err := json.Marshal(creds)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"secretAccessKey":"s3cr3t-key"`) || !strings.Contains(string(b), `"sessionToken":"s3cr3t-token"`) {
		t.Errorf("wire form lost the secrets: %s", b)
	}
}
