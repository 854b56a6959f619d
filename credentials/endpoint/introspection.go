package endpoint

import (
	"net/http"
	"strings"

	"github.com/ecsd-project/ecsd/wire/tmds"
)

// IntrospectionConfig configures the introspection API.
type IntrospectionConfig struct {
	Tasks   TaskLookup
	Cluster string
	// InstanceARN is the container instance's ARN; "" before registration
	// (served as null).
	InstanceARN func() string
	// Version is the agent's version string, "ecsd - v1.2.3 (commit)".
	Version string
}

// NewIntrospection returns the introspection API's handler: GET /,
// /v1/metadata and /v1/tasks (?dockerid= or ?taskarn=).
func NewIntrospection(cfg IntrospectionConfig) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, tmds.AvailableCommands{AvailableCommands: []string{"/v1/metadata", "/v1/tasks"}})
	})
	mux.HandleFunc("GET /v1/metadata", func(w http.ResponseWriter, r *http.Request) {
		m := tmds.AgentMetadata{Cluster: cfg.Cluster, Version: cfg.Version}
		if cfg.InstanceARN != nil {
			if arn := cfg.InstanceARN(); arn != "" {
				m.ContainerInstanceArn = &arn
			}
		}
		writeJSON(w, http.StatusOK, m)
	})
	mux.HandleFunc("GET /v1/tasks", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		dockerID, taskARN := q.Get("dockerid"), q.Get("taskarn")
		tasks := cfg.Tasks.Tasks()
		switch {
		case dockerID != "" && taskARN != "":
			writeJSON(w, http.StatusBadRequest, "Request contains both ?dockerid and ?taskarn. Should only contain one.")
		case taskARN != "":
			for _, t := range tasks {
				if t.Metadata.TaskARN == taskARN {
					writeJSON(w, http.StatusOK, introspectionTask(t))
					return
				}
			}
			writeJSON(w, http.StatusNotFound, "Unable to find task with arn "+taskARN)
		case dockerID != "":
			var found []Task
			for _, t := range tasks {
				for _, c := range t.Containers {
					id := c.Metadata.DockerID
					if id == dockerID || (len(dockerID) == 12 && strings.HasPrefix(id, dockerID)) {
						found = append(found, t)
						break
					}
				}
			}
			switch len(found) {
			case 0:
				writeJSON(w, http.StatusNotFound, "Unable to find task for container with id "+dockerID)
			case 1:
				writeJSON(w, http.StatusOK, introspectionTask(found[0]))
			default:
				writeJSON(w, http.StatusBadRequest, "Multiple tasks found for short container id "+dockerID)
			}
		default:
			out := tmds.IntrospectionTasks{Tasks: []tmds.IntrospectionTask{}}
			for _, t := range tasks {
				out.Tasks = append(out.Tasks, introspectionTask(t))
			}
			writeJSON(w, http.StatusOK, out)
		}
	})
	return mux
}

func introspectionTask(t Task) tmds.IntrospectionTask {
	m := t.Metadata
	out := tmds.IntrospectionTask{Arn: m.TaskARN, DesiredStatus: m.DesiredStatus, KnownStatus: m.KnownStatus,
		Family: m.Family, Version: m.Revision, Containers: []tmds.IntrospectionContainer{}}
	for _, c := range t.Containers {
		cm := c.Metadata
		out.Containers = append(out.Containers, tmds.IntrospectionContainer{
			DockerID: cm.DockerID, DockerName: cm.DockerName, Name: cm.Name, Image: cm.Image, ImageID: cm.ImageID,
			CreatedAt: cm.CreatedAt, StartedAt: cm.StartedAt, Ports: cm.Ports, Networks: cm.Networks,
			Volumes: cm.Volumes, RestartCount: cm.RestartCount,
		})
	}
	return out
}
