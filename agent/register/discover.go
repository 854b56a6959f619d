package register

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// Endpoints are where ACS and TCS listen for this instance.
type Endpoints struct {
	ACS string
	TCS string
}

// Discoverer calls DiscoverPollEndpoint, caching the answer for 12 hours
// and falling back to an expired answer when the call fails, as the ECS
// agent does. Overrides (sites without public DNS) skip the call.
type Discoverer struct {
	ECS      ECS
	Cluster  string
	Override Endpoints

	mu      sync.Mutex
	cached  Endpoints
	fetched time.Time
}

const discoverTTL = 12 * time.Hour

// Discover returns the endpoints for a container instance.
func (d *Discoverer) Discover(ctx context.Context, containerInstanceARN string) (Endpoints, error) {
	if d.Override.ACS != "" && d.Override.TCS != "" {
		return d.Override, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.fetched.IsZero() && time.Since(d.fetched) < discoverTTL {
		return d.merge(d.cached), nil
	}
	out, err := d.ECS.DiscoverPollEndpoint(ctx, &ecs.DiscoverPollEndpointInput{
		Cluster:           aws.String(d.Cluster),
		ContainerInstance: aws.String(containerInstanceARN),
	}, withZoneID())
	if err != nil {
		if !d.fetched.IsZero() {
			return d.merge(d.cached), nil
		}
		return Endpoints{}, fmt.Errorf("DiscoverPollEndpoint: %w", err)
	}
	d.cached = Endpoints{ACS: aws.ToString(out.Endpoint), TCS: aws.ToString(out.TelemetryEndpoint)}
	d.fetched = time.Now()
	return d.merge(d.cached), nil
}

func (d *Discoverer) merge(e Endpoints) Endpoints {
	if d.Override.ACS != "" {
		e.ACS = d.Override.ACS
	}
	if d.Override.TCS != "" {
		e.TCS = d.Override.TCS
	}
	return e
}
