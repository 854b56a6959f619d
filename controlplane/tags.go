package controlplane

import (
	"context"
	"errors"
	"strings"

	"github.com/ecsd-project/ecsd/wire/ecs"
)

// validateTags applies the ECS tag limits.
func validateTags(tags []ecs.Tag) error {
	if len(tags) > 50 {
		return invalidParam("A resource can have at most 50 tags.")
	}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return invalidParam("Tag keys must be 1 to 128 characters and values at most 256.")
		}
	}
	return nil
}

func (cp *ControlPlane) tagResource(ctx context.Context, in *ecs.TagResourceRequest) (*ecs.TagResourceResponse, error) {
	if len(in.Tags) == 0 {
		return nil, invalidParam("Tags must not be empty.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	err := cp.update(ctx, func(st *state) error {
		if err := cp.resourceExists(st, in.ResourceARN); err != nil {
			return err
		}
		have, err := st.tags(in.ResourceARN)
		if err != nil {
			return err
		}
		merged := len(have)
		for _, t := range in.Tags {
			if !containsKey(have, t.Key) {
				merged++
			}
		}
		if merged > 50 {
			return invalidParam("A resource can have at most 50 tags.")
		}
		return st.addTags(in.ResourceARN, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return &ecs.TagResourceResponse{}, nil
}

func containsKey(tags []ecs.Tag, key string) bool {
	for _, t := range tags {
		if t.Key == key {
			return true
		}
	}
	return false
}

func (cp *ControlPlane) listTagsForResource(ctx context.Context, in *ecs.ListTagsForResourceRequest) (*ecs.ListTagsForResourceResponse, error) {
	var tags []ecs.Tag
	err := cp.view(func(st *state) error {
		if err := cp.resourceExists(st, in.ResourceARN); err != nil {
			return err
		}
		var err error
		tags, err = st.tags(in.ResourceARN)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ecs.ListTagsForResourceResponse{Tags: nonNil(tags)}, nil
}

// resourceExists checks that arn names a cluster, task definition, task,
// container instance or service this control plane has.
func (cp *ControlPlane) resourceExists(st *state, arn string) error {
	typ, rest, ok := resource(arn)
	if !ok {
		return invalidParam("Invalid resource ARN %q.", arn)
	}
	var err error
	switch typ {
	case "cluster":
		var c *ecs.Cluster
		c, err = st.cluster(rest)
		if err == nil && c.Status != ecs.StatusActive {
			return errClusterNotFound()
		}
		if errors.Is(err, errNotFound) {
			return errClusterNotFound()
		}
	case "task-definition":
		family, rev, ok := strings.Cut(rest, ":")
		if !ok {
			return invalidParam("Invalid resource ARN %q.", arn)
		}
		_, err = st.taskDef(family, atoi32(rev))
	case "task":
		c, id := splitID(arn, "task")
		_, err = st.task(c, id)
	case "container-instance":
		c, id := splitID(arn, "container-instance")
		_, err = st.instance(c, id)
	case "service":
		c, name, ok := strings.Cut(rest, "/")
		if !ok {
			return invalidParam("Invalid resource ARN %q.", arn)
		}
		_, err = st.service(c, name)
	default:
		return invalidParam("Unsupported resource type %q.", typ)
	}
	if errors.Is(err, errNotFound) {
		return apiErr(ecs.ErrResourceNotFoundException, "The specified resource could not be found.")
	}
	return err
}
