package endpoint

import (
	"net/netip"

	"github.com/ecsd-project/ecsd/credentials"
	"github.com/ecsd-project/ecsd/wire/tmds"
)

// Task is a copy of one task as the endpoints show it.
type Task struct {
	// Metadata is the v4 task metadata, without Containers (the endpoint
	// fills them from Containers).
	Metadata tmds.Task
	// CredentialsID is the task role's credentials id; "" without a role.
	CredentialsID string
	Containers    []Container
}

// Container is one container of a Task.
type Container struct {
	// EndpointID is the random id in the container's metadata URIs.
	EndpointID string
	// Addresses are the container's own addresses (bridge mode); empty for
	// host-network containers, which share the host's.
	Addresses []netip.Addr
	Metadata  tmds.Container
}

// TaskLookup gives the endpoints copies of the agent's tasks.
type TaskLookup interface {
	Tasks() []Task
}

// CredentialsLookup finds credentials by id; *credentials.Store is one.
type CredentialsLookup interface {
	Get(id string) (credentials.Credentials, bool)
}

// byEndpointID finds the task and container of an endpoint id.
func byEndpointID(tasks []Task, id string) (Task, Container, bool) {
	for _, t := range tasks {
		for _, c := range t.Containers {
			if c.EndpointID == id {
				return t, c, true
			}
		}
	}
	return Task{}, Container{}, false
}

// tasksAt lists the ARNs of tasks with a container at addr.
func tasksAt(tasks []Task, addr netip.Addr) []string {
	var out []string
	for _, t := range tasks {
		for _, c := range t.Containers {
			for _, a := range c.Addresses {
				if a == addr {
					out = append(out, t.Metadata.TaskARN)
				}
			}
		}
	}
	return out
}

// allowed reports whether a caller at addr may read task arn's data: yes
// unless addr belongs to containers of other tasks only.
func allowed(tasks []Task, addr netip.Addr, arn string) bool {
	owners := tasksAt(tasks, addr)
	if len(owners) == 0 {
		return true
	}
	for _, o := range owners {
		if o == arn {
			return true
		}
	}
	return false
}

// withContainers is the task's metadata with its containers.
func (t Task) withContainers() tmds.Task {
	m := t.Metadata
	m.Containers = nil
	for _, c := range t.Containers {
		m.Containers = append(m.Containers, c.Metadata)
	}
	return m
}

// known reports whether a task with arn is among tasks.
func known(tasks []Task, arn string) bool {
	for _, t := range tasks {
		if t.Metadata.TaskARN == arn {
			return true
		}
	}
	return false
}
