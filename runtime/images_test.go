package runtime_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ecsd-project/ecsd/internal/testenv"
	"github.com/ecsd-project/ecsd/runtime"
)

// bareEnv is a private containerd with no images imported.
func bareEnv(t *testing.T) *env {
	t.Helper()
	e := &env{ctd: testenv.Containerd(t), images: testenv.Images(t), state: t.TempDir()}
	e.rt = e.open(t)
	return e
}

func TestPullAnonymousAndDigest(t *testing.T) {
	e := bareEnv(t)
	reg := testenv.Registry(t, testenv.RegistryOptions{})
	refs := reg.Push(t, e.images)
	ctx := context.Background()
	img, err := e.rt.PullImage(ctx, refs["shell"], runtime.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img.Cached || !strings.HasPrefix(img.Digest, "sha256:") || img.Ref != refs["shell"] {
		t.Errorf("pulled image = %+v", img)
	}
	if want := e.images.Digest("shell").String(); img.Digest != want {
		t.Errorf("digest %s, want the pushed manifest's %s", img.Digest, want)
	}
	out := e.sh(t, runtime.ContainerSpec{Image: refs["shell"]}, "echo pulled-and-ran")
	if !strings.Contains(out, "pulled-and-ran") {
		t.Errorf("output %q", out)
	}
}

func TestPullWithAuth(t *testing.T) {
	e := bareEnv(t)
	reg := testenv.Registry(t, testenv.RegistryOptions{Auth: true})
	refs := reg.Push(t, e.images)
	ctx := context.Background()

	if _, err := e.rt.PullImage(ctx, refs["shell"], runtime.PullOptions{}); !errors.Is(err, runtime.ErrCannotPull) {
		t.Errorf("anonymous pull from an auth registry: %v", err)
	}
	_, err := e.rt.PullImage(ctx, refs["shell"], runtime.PullOptions{Auth: &runtime.RegistryAuth{Username: reg.Username, Password: "wrong"}})
	if !errors.Is(err, runtime.ErrCannotPull) || !strings.HasPrefix(err.Error(), "CannotPullContainerError: ") {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := e.rt.PullImage(ctx, refs["shell"], runtime.PullOptions{Auth: &runtime.RegistryAuth{Username: reg.Username, Password: reg.Password}}); err != nil {
		t.Errorf("basic auth pull: %v", err)
	}
	// ECR hands out a base64 "user:password" token.
	auth, err := runtime.ECRAuth(base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + reg.Password)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.PullImage(ctx, refs["user"], runtime.PullOptions{Auth: auth, Behavior: runtime.PullAlways}); err != nil {
		t.Errorf("ECR-style token pull: %v", err)
	}
	if _, err := runtime.ECRAuth("not base64!"); err == nil {
		t.Error("bad ECR token accepted")
	}
}

func TestPullBehaviors(t *testing.T) {
	e := bareEnv(t)
	reg := testenv.Registry(t, testenv.RegistryOptions{})
	refs := reg.Push(t, e.images)
	ctx := context.Background()
	ref := refs["shell"]
	if _, err := e.rt.PullImage(ctx, ref, runtime.PullOptions{Behavior: runtime.PullAlways}); err != nil {
		t.Fatal(err)
	}
	img, err := e.rt.PullImage(ctx, ref, runtime.PullOptions{Behavior: runtime.PullPreferCached})
	if err != nil || !img.Cached {
		t.Errorf("prefer-cached with a local copy: %+v %v", img, err)
	}

	reg.Stop(t) // the registry goes away
	for _, tc := range []struct {
		behavior   runtime.PullBehavior
		wantErr    bool
		wantCached bool
	}{
		{runtime.PullDefault, false, true},
		{runtime.PullAlways, true, false},
		{runtime.PullOnce, false, true},
		{runtime.PullPreferCached, false, true},
	} {
		img, err := e.rt.PullImage(ctx, ref, runtime.PullOptions{Behavior: tc.behavior})
		if (err != nil) != tc.wantErr || (err == nil && img.Cached != tc.wantCached) {
			t.Errorf("%s with registry down: %+v, %v", tc.behavior, img, err)
		}
	}
	if _, err := e.rt.PullImage(ctx, refs["user"], runtime.PullOptions{Behavior: runtime.PullPreferCached}); !errors.Is(err, runtime.ErrCannotPull) {
		t.Errorf("prefer-cached without a local copy and no registry: %v", err)
	}
	if _, err := runtime.ParsePullBehavior("sometimes"); err == nil {
		t.Error("bad pull behavior accepted")
	}
}

func TestImportListRemove(t *testing.T) {
	e := bareEnv(t)
	ctx := context.Background()
	f, err := os.Open(e.images.ArchiveFor("user"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	imported, err := e.rt.ImportImages(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(imported) != 1 || imported[0].Ref != e.images.Ref("user") || imported[0].Config.User != "app" {
		t.Fatalf("imported %+v", imported)
	}
	list, err := e.rt.ListImages(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListImages = %+v, %v", list, err)
	}
	if err := e.rt.RemoveImage(ctx, e.images.Ref("user")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.ImageInfo(ctx, e.images.Ref("user")); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("after removal: %v", err)
	}
	if err := e.rt.RemoveImage(ctx, e.images.Ref("user")); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("second removal: %v", err)
	}
}

func TestBadReference(t *testing.T) {
	e := bareEnv(t)
	_, err := e.rt.PullImage(context.Background(), "Not A Ref", runtime.PullOptions{})
	if !errors.Is(err, runtime.ErrCannotPull) {
		t.Errorf("bad reference: %v", err)
	}
}
