package controlplane

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ecsd-project/ecsd/controlplane/auth"
	"github.com/ecsd-project/ecsd/wire/ecs"
	bolt "go.etcd.io/bbolt"
)

// Bucket names; the layout is drawn in doc.go.
var (
	bucketMeta        = []byte("meta")
	bucketClusters    = []byte("clusters")
	bucketTaskDefs    = []byte("taskdefs")
	bucketTasks       = []byte("tasks")
	bucketInstances   = []byte("instances")
	bucketServices    = []byte("services")
	bucketTags        = []byte("tags")
	bucketCredentials = []byte("credentials")

	allBuckets = [][]byte{bucketMeta, bucketClusters, bucketTaskDefs, bucketTasks, bucketInstances,
		bucketServices, bucketTags, bucketCredentials}

	keySchema = []byte("schema")
)

// schemaVersion is the layout this code reads and writes.
const schemaVersion = 1

// taskRecord is a task as stored: the shape DescribeTasks returns (without
// tags) and what the scheduler and the dispatcher need besides.
type taskRecord struct {
	Task    ecs.Task
	Cluster string
	// Service and Deployment are set for tasks a service started.
	Service    string `json:",omitempty"`
	Deployment string `json:",omitempty"`
	// Acked is the desired status the agent has acknowledged ("" until
	// it has the task).
	Acked string `json:",omitempty"`
	// StopRequested is set when a caller or the scheduler asked the task
	// to stop.
	StopRequested bool `json:",omitempty"`
	// Reserved is what the task holds on its instance until it stops.
	Reserved                 resources
	RoleCredentials          *issuedCredentials `json:",omitempty"`
	ExecutionRoleCredentials *issuedCredentials `json:",omitempty"`
}

func (t *taskRecord) id() string { _, id := splitID(t.Task.TaskARN, "task"); return id }

// live reports whether the task is wanted running.
func (t *taskRecord) live() bool {
	return t.Task.DesiredStatus == ecs.StatusRunning && t.Task.LastStatus != ecs.StatusStopped
}

// pending reports whether the agent has yet to acknowledge the task's
// desired status.
func (t *taskRecord) pending() bool {
	return t.holding() && statusRank[t.Acked] < statusRank[t.Task.DesiredStatus]
}

// holding reports whether the task still holds resources on its instance.
func (t *taskRecord) holding() bool { return t.Task.LastStatus != ecs.StatusStopped }

// resources are amounts of the resources placement tracks.
type resources struct {
	CPU    int64   `json:",omitempty"`
	Memory int64   `json:",omitempty"`
	TCP    []int32 `json:",omitempty"`
	UDP    []int32 `json:",omitempty"`
}

// issuedCredentials are temporary role credentials ecs-local issued to a
// task.
type issuedCredentials struct {
	CredentialsID   string
	RoleARN         string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// instanceRecord is a container instance as stored; counts and remaining
// resources are computed when it is described.
type instanceRecord struct {
	Instance ecs.ContainerInstance
	Cluster  string
	// Principal registered the instance.
	Principal string `json:",omitempty"`
	// ClientToken is the first registration's idempotency token: a retry
	// of that call gets the same instance back.
	ClientToken string `json:",omitempty"`
}

func (i *instanceRecord) id() string {
	_, id := splitID(i.Instance.ContainerInstanceARN, "container-instance")
	return id
}

// serviceRecord is a service as stored; counts are computed when it is
// described.
type serviceRecord struct {
	Service ecs.Service
	Cluster string
}

// credentialRecord is a credential the keyring is loaded with at start.
type credentialRecord struct {
	auth.Credential
	// Admin marks the credentials written to DataDir/credentials.
	Admin bool `json:",omitempty"`
}

// state is one bbolt transaction seen through the records it holds, and the
// effects to apply once it commits.
type state struct {
	tx  *bolt.Tx
	now time.Time
	fx  *effects
}

var errNotFound = errors.New("not found")

func get[T any](st *state, bucket []byte, key string) (*T, error) {
	b := st.tx.Bucket(bucket).Get([]byte(key))
	if b == nil {
		return nil, errNotFound
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("decode %s/%s: %w", bucket, key, err)
	}
	return v, nil
}

func put(st *state, bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", bucket, key, err)
	}
	if err := st.tx.Bucket(bucket).Put([]byte(key), b); err != nil {
		return fmt.Errorf("write %s/%s: %w", bucket, key, err)
	}
	return nil
}

func del(st *state, bucket []byte, key string) error {
	if err := st.tx.Bucket(bucket).Delete([]byte(key)); err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// scan decodes every record of bucket whose key starts with prefix, in key
// order.
func scan[T any](st *state, bucket []byte, prefix string) ([]*T, error) {
	var out []*T
	c := st.tx.Bucket(bucket).Cursor()
	p := []byte(prefix)
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		r := new(T)
		if err := json.Unmarshal(v, r); err != nil {
			return nil, fmt.Errorf("decode %s/%s: %w", bucket, k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (st *state) cluster(name string) (*ecs.Cluster, error) {
	return get[ecs.Cluster](st, bucketClusters, name)
}

// activeCluster returns the named ACTIVE cluster or ClusterNotFoundException.
func (st *state) activeCluster(param string) (*ecs.Cluster, error) {
	c, err := st.cluster(clusterName(param))
	if errors.Is(err, errNotFound) || (err == nil && c.Status != ecs.StatusActive) {
		return nil, errClusterNotFound()
	}
	return c, err
}

func (st *state) putCluster(c *ecs.Cluster) error { return put(st, bucketClusters, c.ClusterName, c) }

func taskDefKey(family string, revision int32) string {
	return family + ":" + fmt.Sprintf("%010d", revision)
}

func (st *state) taskDef(family string, revision int32) (*ecs.TaskDefinition, error) {
	return get[ecs.TaskDefinition](st, bucketTaskDefs, taskDefKey(family, revision))
}

func (st *state) putTaskDef(td *ecs.TaskDefinition) error {
	return put(st, bucketTaskDefs, taskDefKey(td.Family, td.Revision), td)
}

// revisions returns a family's revisions in order.
func (st *state) revisions(family string) ([]*ecs.TaskDefinition, error) {
	return scan[ecs.TaskDefinition](st, bucketTaskDefs, family+":")
}

func (st *state) task(cluster, id string) (*taskRecord, error) {
	return get[taskRecord](st, bucketTasks, cluster+"/"+id)
}

func (st *state) putTask(t *taskRecord) error {
	t.Task.Version++
	return put(st, bucketTasks, t.Cluster+"/"+t.id(), t)
}

// storeTask writes t without counting a change: for bookkeeping such as
// acknowledgements and refreshed credentials.
func (st *state) storeTask(t *taskRecord) error {
	return put(st, bucketTasks, t.Cluster+"/"+t.id(), t)
}

func (st *state) tasks(cluster string) ([]*taskRecord, error) {
	return scan[taskRecord](st, bucketTasks, cluster+"/")
}

func (st *state) instance(cluster, id string) (*instanceRecord, error) {
	return get[instanceRecord](st, bucketInstances, cluster+"/"+id)
}

func (st *state) putInstance(i *instanceRecord) error {
	return put(st, bucketInstances, i.Cluster+"/"+i.id(), i)
}

func (st *state) instances(cluster string) ([]*instanceRecord, error) {
	return scan[instanceRecord](st, bucketInstances, cluster+"/")
}

func (st *state) service(cluster, name string) (*serviceRecord, error) {
	return get[serviceRecord](st, bucketServices, cluster+"/"+name)
}

func (st *state) putService(s *serviceRecord) error {
	return put(st, bucketServices, s.Cluster+"/"+s.Service.ServiceName, s)
}

func (st *state) services(cluster string) ([]*serviceRecord, error) {
	return scan[serviceRecord](st, bucketServices, cluster+"/")
}

func (st *state) tags(arn string) ([]ecs.Tag, error) {
	t, err := get[[]ecs.Tag](st, bucketTags, arn)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return *t, nil
}

// addTags merges tags into the resource's, replacing values of keys it has.
func (st *state) addTags(arn string, tags []ecs.Tag) error {
	if len(tags) == 0 {
		return nil
	}
	have, err := st.tags(arn)
	if err != nil {
		return err
	}
	for _, t := range tags {
		replaced := false
		for i := range have {
			if have[i].Key == t.Key {
				have[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			have = append(have, t)
		}
	}
	return put(st, bucketTags, arn, have)
}

func (st *state) putCredential(c credentialRecord) error {
	return put(st, bucketCredentials, c.AccessKeyID, c)
}

// openStore opens (creating if needed) the bbolt file and checks its schema.
func openStore(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keySchema); {
		case v == nil:
			return meta.Put(keySchema, []byte(strconv.Itoa(schemaVersion)))
		case string(v) != strconv.Itoa(schemaVersion):
			return fmt.Errorf("state schema version %s, this ecs-local reads %d", v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	return db, nil
}
