package main

import (
	"path/filepath"

	"github.com/ecsd-project/ecsd/agent"
	"github.com/ecsd-project/ecsd/agent/config"
	"github.com/ecsd-project/ecsd/runtime/network"
)

// taskEndpoints configures the task endpoint, its redirect and the
// introspection API from the configuration.
func taskEndpoints(cfg config.Config) agent.TaskEndpoints {
	te := agent.TaskEndpoints{
		Listen: cfg.CredentialsListen, IntrospectionListen: cfg.IntrospectionListen,
		Rate: float64(cfg.TaskMetadataRate), Burst: cfg.TaskMetadataBurst,
		TaskIAMRole: cfg.TaskIAMRole,
	}
	if cfg.TaskEndpointRedirect {
		te.Redirect = &network.RedirectConfig{
			Chain:       cfg.TaskEndpointChain,
			HostNetwork: cfg.TaskIAMRoleNetworkHost,
			StateFile:   filepath.Join(cfg.DataDir, "route_localnet.orig"),
		}
	}
	return te
}
