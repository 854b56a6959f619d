package wsclient

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Peer is the container instance at the agent's end of an ACS or TCS
// connection: what its handshake names and the credentials that sign for
// it. Both sessions embed it in their Config.
type Peer struct {
	// Cluster is the configured cluster, a name or an ARN.
	Cluster              string
	ContainerInstanceARN string
	Region               string
	// Credentials are the instance credentials that sign the handshake
	// (and, for TCS, every frame).
	Credentials  aws.CredentialsProvider
	AgentVersion string
	AgentHash    string
}

// Missing lists the fields a session cannot do without that p lacks.
func (p Peer) Missing() []error {
	var errs []error
	if p.Cluster == "" {
		errs = append(errs, errors.New("no Cluster"))
	}
	if p.ContainerInstanceARN == "" {
		errs = append(errs, errors.New("no ContainerInstanceARN"))
	}
	if p.Region == "" {
		errs = append(errs, errors.New("no Region"))
	}
	if p.Credentials == nil {
		errs = append(errs, errors.New("no Credentials"))
	}
	return errs
}
