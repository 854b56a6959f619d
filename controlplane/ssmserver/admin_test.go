package ssmserver

import (
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ssmsdk "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	bolt "go.etcd.io/bbolt"
)

// errorCode is the AWS error code of an SDK error.
func errorCode(err error) string {
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		return coded.ErrorCode()
	}
	return ""
}

// TestAdminAuthentication: admin calls need a good SigV4 signature, and a
// managed instance's credentials only deregister that instance.
func TestAdminAuthentication(t *testing.T) {
	e := newEnv(t)
	id, code := e.createActivation(t, &ssmsdk.CreateActivationInput{RegistrationLimit: aws.Int32(2)})

	if a := e.rawCall(t, "DescribeActivations", struct{}{}, nil); a.status != 400 || a.code != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %d %s", a.status, a.code)
	}
	wrong := e.client(t, aws.Credentials{AccessKeyID: adminKeyID, SecretAccessKey: "not-the-secret"})
	if _, err := wrong.DescribeActivations(t.Context(), &ssmsdk.DescribeActivationsInput{}); errorCode(err) != "InvalidSignatureException" {
		t.Errorf("wrong secret: %v", err)
	}
	unknown := e.client(t, aws.Credentials{AccessKeyID: "AKIAUNKNOWN000000000", SecretAccessKey: "x"})
	if _, err := unknown.DescribeActivations(t.Context(), &ssmsdk.DescribeActivationsInput{}); errorCode(err) != "UnrecognizedClientException" {
		t.Errorf("unknown key: %v", err)
	}

	// Two hosts; the first uses its own role credentials.
	h1, h2 := e.newHost(t), e.newHost(t)
	reg1, err := e.register(t, h1, id, code)
	if err != nil {
		t.Fatal(err)
	}
	reg2, err := e.register(t, h2, id, code)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := e.provider(t, h1, nil).Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	self := e.client(t, creds)
	if _, err := self.CreateActivation(t.Context(), &ssmsdk.CreateActivationInput{IamRole: aws.String(testRole)}); errorCode(err) != "AccessDeniedException" {
		t.Errorf("instance creates an activation: %v", err)
	}
	if _, err := self.DescribeInstanceInformation(t.Context(), &ssmsdk.DescribeInstanceInformationInput{}); errorCode(err) != "AccessDeniedException" {
		t.Errorf("instance lists instances: %v", err)
	}
	if _, err := self.DeregisterManagedInstance(t.Context(), &ssmsdk.DeregisterManagedInstanceInput{InstanceId: &reg2.InstanceID}); errorCode(err) != "AccessDeniedException" {
		t.Errorf("instance deregisters another: %v", err)
	}
	if _, err := self.DeregisterManagedInstance(t.Context(), &ssmsdk.DeregisterManagedInstanceInput{InstanceId: &reg1.InstanceID}); err != nil {
		t.Errorf("instance deregisters itself: %v", err)
	}
	if !strings.Contains(e.logs.String(), "principal=arn:aws:sts::000000000000:assumed-role/ecsAnywhereRole/"+reg1.InstanceID) {
		t.Errorf("the log does not name the instance's principal:\n%s", e.logs.String())
	}
}

// TestDescribeActivations: filters, pages, expiry, deletion.
func TestDescribeActivations(t *testing.T) {
	e := newEnv(t)
	ids := map[string]bool{}
	for _, name := range []string{"a", "b", "c"} {
		id, _ := e.createActivation(t, &ssmsdk.CreateActivationInput{DefaultInstanceName: aws.String(name)})
		ids[id] = true
	}
	soon := testStart.Add(time.Hour)
	short, _ := e.createActivation(t, &ssmsdk.CreateActivationInput{IamRole: aws.String("otherRole"), ExpirationDate: &soon})
	e.clk.Advance(2 * time.Hour)

	var seen []types.Activation
	pages := 0
	for pg := ssmsdk.NewDescribeActivationsPaginator(e.admin, &ssmsdk.DescribeActivationsInput{MaxResults: aws.Int32(3)}); pg.HasMorePages(); {
		out, err := pg.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		seen = append(seen, out.ActivationList...)
	}
	if pages != 2 || len(seen) != 4 {
		t.Errorf("%d activations in %d pages, want 4 in 2", len(seen), pages)
	}
	for _, a := range seen {
		if a.Expired != (*a.ActivationId == short) {
			t.Errorf("activation %s: Expired %v", *a.ActivationId, a.Expired)
		}
	}

	filtered := func(key types.DescribeActivationsFilterKeys, values ...string) []types.Activation {
		t.Helper()
		out, err := e.admin.DescribeActivations(t.Context(), &ssmsdk.DescribeActivationsInput{
			Filters: []types.DescribeActivationsFilter{{FilterKey: key, FilterValues: values}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.ActivationList
	}
	if got := filtered(types.DescribeActivationsFilterKeysActivationIds, short); len(got) != 1 || *got[0].ActivationId != short {
		t.Errorf("by id: %+v", got)
	}
	if got := filtered(types.DescribeActivationsFilterKeysIamRole, testRole); len(got) != 3 {
		t.Errorf("by role: %d, want 3", len(got))
	}
	if got := filtered(types.DescribeActivationsFilterKeysDefaultInstanceName, "a", "b"); len(got) != 2 {
		t.Errorf("by name: %d, want 2", len(got))
	}
	if got := e.rawCall(t, "DescribeActivations", map[string]any{"NextToken": "!!"}, e.adminSigner(t)); got.code != "InvalidNextToken" {
		t.Errorf("bad NextToken: %d %s", got.status, got.code)
	}
	if got := e.rawCall(t, "DescribeActivations", map[string]any{"Filters": []map[string]any{{"FilterKey": "Colour"}}}, e.adminSigner(t)); got.code != "InvalidFilter" {
		t.Errorf("bad filter: %d %s", got.status, got.code)
	}

	if _, err := e.admin.DeleteActivation(t.Context(), &ssmsdk.DeleteActivationInput{ActivationId: &short}); err != nil {
		t.Fatal(err)
	}
	if got := filtered(types.DescribeActivationsFilterKeysActivationIds, short); len(got) != 0 {
		t.Errorf("deleted activation listed: %+v", got)
	}
	var invalid *types.InvalidActivation
	if _, err := e.admin.DeleteActivation(t.Context(), &ssmsdk.DeleteActivationInput{ActivationId: &short}); !errors.As(err, &invalid) {
		t.Errorf("delete again: %v, want InvalidActivation", err)
	}
	var invalidID *types.InvalidActivationId
	if _, err := e.admin.DeleteActivation(t.Context(), &ssmsdk.DeleteActivationInput{ActivationId: aws.String("not-an-id")}); !errors.As(err, &invalidID) {
		t.Errorf("delete a malformed id: %v, want InvalidActivationId", err)
	}
}

// adminSigner signs raw calls as the admin, through the SDK's signer.
func (e *env) adminSigner(t *testing.T) func(*http.Request, []byte) {
	return func(r *http.Request, body []byte) {
		signV4(t, r, body, aws.Credentials{AccessKeyID: adminKeyID, SecretAccessKey: adminSecret}, e.clk.Now())
	}
}

// TestDescribeInstanceInformation: filters and ping status.
func TestDescribeInstanceInformation(t *testing.T) {
	e := newEnv(t)
	id, code := e.createActivation(t, &ssmsdk.CreateActivationInput{RegistrationLimit: aws.Int32(10)})
	other, otherCode := e.createActivation(t, &ssmsdk.CreateActivationInput{IamRole: aws.String("otherRole")})
	var hosts []*host
	for range 6 {
		h := e.newHost(t)
		if _, err := e.register(t, h, id, code); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
	}
	lone := e.newHost(t)
	loneReg, err := e.register(t, lone, other, otherCode)
	if err != nil {
		t.Fatal(err)
	}
	// Two hours on, only the lone host has asked for credentials.
	e.clk.Advance(2 * time.Hour)
	if _, err := e.provider(t, lone, nil).Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}

	list := func(in *ssmsdk.DescribeInstanceInformationInput) []types.InstanceInformation {
		t.Helper()
		var all []types.InstanceInformation
		for pg := ssmsdk.NewDescribeInstanceInformationPaginator(e.admin, in); pg.HasMorePages(); {
			out, err := pg.NextPage(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, out.InstanceInformationList...)
		}
		return all
	}
	if got := list(&ssmsdk.DescribeInstanceInformationInput{MaxResults: aws.Int32(5)}); len(got) != 7 {
		t.Errorf("%d instances, want 7", len(got))
	}
	online := list(&ssmsdk.DescribeInstanceInformationInput{Filters: []types.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Online"}}}})
	if len(online) != 1 || *online[0].InstanceId != loneReg.InstanceID {
		t.Errorf("online: %+v", online)
	}
	lost := list(&ssmsdk.DescribeInstanceInformationInput{InstanceInformationFilterList: []types.InstanceInformationFilter{{
		Key: types.InstanceInformationFilterKeyPingStatus, ValueSet: []string{"ConnectionLost"},
	}}})
	if len(lost) != 6 {
		t.Errorf("%d instances ConnectionLost, want 6", len(lost))
	}
	byActivation := list(&ssmsdk.DescribeInstanceInformationInput{InstanceInformationFilterList: []types.InstanceInformationFilter{{
		Key: types.InstanceInformationFilterKeyActivationIds, ValueSet: []string{other},
	}}})
	if len(byActivation) != 1 || *byActivation[0].IamRole != "otherRole" {
		t.Errorf("by activation: %+v", byActivation)
	}
	_, err = e.admin.DescribeInstanceInformation(t.Context(), &ssmsdk.DescribeInstanceInformationInput{Filters: []types.InstanceInformationStringFilter{{Key: aws.String("Colour"), Values: []string{"red"}}}})
	var badKey *types.InvalidFilterKey
	if !errors.As(err, &badKey) {
		t.Errorf("unknown filter key: %v, want InvalidFilterKey", err)
	}
}

// TestCreateActivationValidation: what CreateActivation refuses.
func TestCreateActivationValidation(t *testing.T) {
	e := newEnv(t)
	past := testStart.Add(-time.Minute)
	far := testStart.Add(31 * 24 * time.Hour)
	for name, in := range map[string]*ssmsdk.CreateActivationInput{
		"limit 0":         {IamRole: aws.String(testRole), RegistrationLimit: aws.Int32(0)},
		"limit 1001":      {IamRole: aws.String(testRole), RegistrationLimit: aws.Int32(1001)},
		"expired already": {IamRole: aws.String(testRole), ExpirationDate: &past},
		"beyond 30 days":  {IamRole: aws.String(testRole), ExpirationDate: &far},
		"tag without key": {IamRole: aws.String(testRole), Tags: []types.Tag{{Key: aws.String(""), Value: aws.String("v")}}},
	} {
		if _, err := e.admin.CreateActivation(t.Context(), in); errorCode(err) != "ValidationException" {
			t.Errorf("%s: %v, want ValidationException", name, err)
		}
	}
	// The SDK itself refuses to send a CreateActivation without a role.
	if a := e.rawCall(t, "CreateActivation", struct{}{}, e.adminSigner(t)); a.code != "ValidationException" {
		t.Errorf("no role: %d %s", a.status, a.code)
	}
}

// TestProtocolErrors: what is not an SSM call is answered as AWS does.
func TestProtocolErrors(t *testing.T) {
	e := newEnv(t)
	if a := e.rawCall(t, "SendCommand", struct{}{}, e.adminSigner(t)); a.status != 400 || a.code != "UnknownOperationException" {
		t.Errorf("unknown operation: %d %s", a.status, a.code)
	}
	if a := e.rawCall(t, "RegisterManagedInstance", "not an object", nil); a.status != 400 || a.code != "SerializationException" {
		t.Errorf("bad body: %d %s", a.status, a.code)
	}
	resp, err := e.raw.Get(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-Errortype") != "UnknownOperationException" {
		t.Errorf("GET /: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
}

func TestAgentVersion(t *testing.T) {
	for ua, want := range map[string]string{
		"ecsd/1.2.3": "1.2.3",
		"aws-sdk-go/1.55.5 (go1.22; linux; amd64) amazon-ssm-agent/3.3.987.0": "3.3.987.0",
		"curl/8.5.0":     "8.5.0",
		"":               "",
		"Go-http-client": "",
	} {
		if got := agentVersion(ua); got != want {
			t.Errorf("agentVersion(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	_, err := New(Config{AccountID: "12", RoleCredentialsTTL: -time.Second})
	for _, want := range []string{"DataDir", "Region", "AccountID", "Verify", "Issue", "RoleCredentialsTTL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New with an empty config: %v; want it to name %s", err, want)
		}
	}
}

// TestStateFile: a second server on the same directory is refused while the
// first runs, and a file from a newer schema is never opened.
func TestStateFile(t *testing.T) {
	e := newEnv(t)
	if _, err := New(e.cfg); !errors.Is(err, ErrLocked) {
		t.Errorf("second server on %s: %v, want %v", e.cfg.DataDir, err, ErrLocked)
	}
	e.stop()
	db, err := bolt.Open(filepath.Join(e.cfg.DataDir, DBFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte("2")) })
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(e.cfg); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("newer schema: %v, want %v", err, ErrNewerSchema)
	}
}
