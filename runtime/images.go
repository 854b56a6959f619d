package runtime

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// PullBehavior is ECS_IMAGE_PULL_BEHAVIOR.
type PullBehavior string

const (
	// PullDefault pulls every time and falls back to a cached image when
	// the pull fails.
	PullDefault PullBehavior = "default"
	// PullAlways pulls every time; a failed pull fails the container.
	PullAlways PullBehavior = "always"
	// PullOnce pulls only when the image is not in the local store.
	PullOnce PullBehavior = "once"
	// PullPreferCached uses a cached image when there is one, else pulls.
	PullPreferCached PullBehavior = "prefer-cached"
)

// ParsePullBehavior checks an ECS_IMAGE_PULL_BEHAVIOR value; empty means default.
func ParsePullBehavior(s string) (PullBehavior, error) {
	switch b := PullBehavior(s); b {
	case "":
		return PullDefault, nil
	case PullDefault, PullAlways, PullOnce, PullPreferCached:
		return b, nil
	}
	return "", fmt.Errorf("image pull behavior %q: want default, always, once or prefer-cached", s)
}

// RegistryAuth is what a registry login needs. It never prints its secret.
type RegistryAuth struct {
	Username string
	Password string
}

// String hides the password.
func (a RegistryAuth) String() string { return "RegistryAuth{" + a.Username + ", [redacted]}" }

// ECRAuth decodes an ECR authorization token (base64 "user:password", as
// GetAuthorizationToken returns it) into a registry login.
func ECRAuth(token string) (*RegistryAuth, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return nil, fmt.Errorf("decode ECR authorization token: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" {
		return nil, errors.New("decode ECR authorization token: not user:password")
	}
	return &RegistryAuth{Username: user, Password: pass}, nil
}

// PullOptions tunes a pull.
type PullOptions struct {
	Behavior PullBehavior
	Auth     *RegistryAuth // nil: anonymous
}

// Image describes an image in the local store.
type Image struct {
	// Ref is the normalized reference ("docker.io/library/busybox:latest").
	Ref string
	// Digest is the digest of the manifest or index the reference points to.
	Digest string
	Config v1.ImageConfig
	// Cached reports that a pull used the local copy without fetching.
	Cached    bool
	CreatedAt time.Time
	Size      int64
}

// NormalizeRef turns a Docker-style short reference into a full one
// ("busybox" → "docker.io/library/busybox:latest").
func NormalizeRef(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	return named.String(), nil
}

// PullImage makes ref available and unpacked, following opts.Behavior.
func (r *Runtime) PullImage(ctx context.Context, ref string, opts PullOptions) (Image, error) {
	ctx = r.ctx(ctx)
	name, err := NormalizeRef(ref)
	if err != nil {
		return Image{}, fmt.Errorf("%w: %w", ErrCannotPull, err)
	}
	behavior := opts.Behavior
	if behavior == "" {
		behavior = PullDefault
	}
	if behavior == PullOnce || behavior == PullPreferCached {
		if img, err := r.localImage(ctx, name); err == nil {
			img.Cached = true
			return img, nil
		}
	}
	img, pullErr := r.fetch(ctx, name, opts.Auth)
	if pullErr == nil {
		return img, nil
	}
	if behavior == PullDefault {
		if img, err := r.localImage(ctx, name); err == nil {
			r.log.Warn("pull failed, using cached image", "image", name, "error", pullErr)
			img.Cached = true
			return img, nil
		}
	}
	return Image{}, fmt.Errorf("%w: pull image %s: %w", ErrCannotPull, name, pullErr)
}

func (r *Runtime) fetch(ctx context.Context, name string, auth *RegistryAuth) (Image, error) {
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: r.registryHosts(auth)})
	img, err := r.client.Pull(ctx, name,
		client.WithResolver(resolver),
		client.WithPullUnpack,
		client.WithPullSnapshotter(r.cfg.Snapshotter))
	if err != nil {
		return Image{}, err
	}
	return r.describe(ctx, img)
}

func (r *Runtime) registryHosts(auth *RegistryAuth) docker.RegistryHosts {
	plain := func(host string) (bool, error) {
		if ok, _ := docker.MatchLocalhost(host); ok {
			return true, nil
		}
		return slices.Contains(r.cfg.PlainHTTPRegistries, host), nil
	}
	var authOpts []docker.AuthorizerOpt
	authOpts = append(authOpts, docker.WithAuthClient(&http.Client{Timeout: 5 * time.Minute}))
	if auth != nil {
		a := *auth
		authOpts = append(authOpts, docker.WithAuthCreds(func(string) (string, string, error) {
			return a.Username, a.Password, nil
		}))
	}
	return docker.ConfigureDefaultRegistries(
		docker.WithPlainHTTP(plain),
		docker.WithAuthorizer(docker.NewDockerAuthorizer(authOpts...)))
}

// localImage returns name from the local store, unpacking it if needed.
func (r *Runtime) localImage(ctx context.Context, name string) (Image, error) {
	img, err := r.client.GetImage(ctx, name)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return Image{}, fmt.Errorf("image %s: %w", name, ErrNotFound)
		}
		return Image{}, err
	}
	if err := r.ensureUnpacked(ctx, img); err != nil {
		return Image{}, err
	}
	return r.describe(ctx, img)
}

func (r *Runtime) ensureUnpacked(ctx context.Context, img client.Image) error {
	ok, err := img.IsUnpacked(ctx, r.cfg.Snapshotter)
	if err != nil {
		return fmt.Errorf("check unpacked %s: %w", img.Name(), err)
	}
	if ok {
		return nil
	}
	if err := img.Unpack(ctx, r.cfg.Snapshotter); err != nil {
		return fmt.Errorf("unpack %s: %w", img.Name(), err)
	}
	return nil
}

func (r *Runtime) describe(ctx context.Context, img client.Image) (Image, error) {
	spec, err := img.Spec(ctx)
	if err != nil {
		return Image{}, fmt.Errorf("read config of %s: %w", img.Name(), err)
	}
	size, _ := img.Size(ctx)
	md := img.Metadata()
	return Image{
		Ref:       img.Name(),
		Digest:    img.Target().Digest.String(),
		Config:    spec.Config,
		CreatedAt: md.CreatedAt,
		Size:      size,
	}, nil
}

// ImageInfo returns a local image by reference, or an error wrapping
// ErrNotFound.
func (r *Runtime) ImageInfo(ctx context.Context, ref string) (Image, error) {
	name, err := NormalizeRef(ref)
	if err != nil {
		return Image{}, err
	}
	ctx = r.ctx(ctx)
	img, err := r.client.GetImage(ctx, name)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return Image{}, fmt.Errorf("image %s: %w", name, ErrNotFound)
		}
		return Image{}, err
	}
	return r.describe(ctx, img)
}

// ImportImages loads an OCI image layout or `docker save` archive (for
// hosts without a registry) and unpacks every image in it.
func (r *Runtime) ImportImages(ctx context.Context, archive io.Reader) ([]Image, error) {
	ctx = r.ctx(ctx)
	ctx, done, err := r.client.WithLease(ctx)
	if err != nil {
		return nil, err
	}
	defer done(context.WithoutCancel(ctx))
	imported, err := r.client.Import(ctx, archive,
		client.WithImportPlatform(platforms.Default()))
	if err != nil {
		return nil, fmt.Errorf("import images: %w", err)
	}
	var out []Image
	for _, md := range imported {
		if md.Name == "" || strings.HasPrefix(md.Name, "import-") {
			continue
		}
		img := client.NewImageWithPlatform(r.client, md, platforms.Default())
		if err := r.ensureUnpacked(ctx, img); err != nil {
			return nil, err
		}
		d, err := r.describe(ctx, img)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// ListImages lists the images in ecsd's namespace.
func (r *Runtime) ListImages(ctx context.Context) ([]Image, error) {
	ctx = r.ctx(ctx)
	imgs, err := r.client.ImageService().List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Image, 0, len(imgs))
	for _, md := range imgs {
		d, err := r.describe(ctx, client.NewImage(r.client, md))
		if err != nil {
			r.log.Warn("skip unreadable image", "image", md.Name, "error", err)
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// RemoveImage deletes an image reference; containerd's garbage collector
// then frees its content and snapshots once nothing else uses them. The
// caller makes sure no container uses it.
func (r *Runtime) RemoveImage(ctx context.Context, ref string) error {
	name, err := NormalizeRef(ref)
	if err != nil {
		return err
	}
	err = r.client.ImageService().Delete(r.ctx(ctx), name, images.SynchronousDelete())
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("image %s: %w", name, ErrNotFound)
	}
	return err
}
