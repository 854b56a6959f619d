package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// record is what Teardown needs to undo an attachment, even from a new
// process: attachments/<id>.json.
type record struct {
	ID    string `json:"id"`
	Mode  Mode   `json:"mode"`
	NetNS string `json:"netns"`
	// PortMappings is the portmap capability CNI ADD was given (DEL gets
	// the same); one entry per claimed host port.
	PortMappings []cniPortMapping `json:"portMappings,omitempty"`
	// IPv4 and Bindings are set once ADD succeeded.
	IPv4     string    `json:"ipv4,omitempty"`
	Bindings []Binding `json:"bindings,omitempty"`
}

// hostPorts are the host ports r holds.
func (r record) hostPorts() []hostPort {
	var ps []hostPort
	for _, pm := range r.PortMappings {
		ps = append(ps, hostPort{pm.Protocol, pm.HostPort})
	}
	return ps
}

// cniPortMapping is one entry of CNI's portMappings capability.
type cniPortMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// records is the attachments directory.
type records struct{ dir string }

func (s records) path(id string) string { return filepath.Join(s.dir, id+".json") }

// put writes r durably: temp file, fsync, rename, fsync of the directory.
func (s records) put(r record) error {
	b, err := json.Marshal(r)
	if err == nil {
		err = writeFileAtomic(s.path(r.ID), b)
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("write record %s: %w", r.ID, err)
	}
	return nil
}

// get reads id's record; ok is false when there is none.
func (s records) get(id string) (r record, ok bool, err error) {
	b, err := os.ReadFile(s.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return r, false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		return r, false, fmt.Errorf("read record %s: %w", id, err)
	}
	return r, true, nil
}

func (s records) remove(id string) error {
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove record %s: %w", id, err)
	}
	return syncDir(s.dir)
}

// ids lists the ids that have a record.
func (s records) ids() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	var ids []string
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && validID(id) && e.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeFileAtomic replaces path with b.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
}
