package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImageRepo is the local name of the test images; Ref(tag) is
// ImageRepo + ":" + tag.
const ImageRepo = "ecsd.test/busybox"

// The tags Images builds. Every image has the same base layer: the host's
// static busybox at /bin/busybox with a /bin symlink per applet (/bin/sh,
// id, wget, httpd, nc, sleep, ...), /etc/passwd with root (0), nobody
// (65534) and app (1000, home /home/app), /etc/group with root, app (1000),
// staff (50, member app) and nogroup (65534), /tmp (1777), /home/app owned by
// 1000:1000, and empty /etc/hosts and /etc/resolv.conf. Every image has
// PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin.
const (
	// TagShell: Cmd ["sh"].
	TagShell = "shell"
	// TagEntrypoint: Entrypoint ["/bin/echo", "from-entrypoint"], Cmd
	// ["default-cmd"], WorkingDir /srv (an extra layer creates it), Env
	// adds IMAGE_ONLY=image and SHARED=image, StopSignal SIGUSR1, label
	// org.ecsd.test=entrypoint.
	TagEntrypoint = "entrypoint"
	// TagUser: User "app" (1000:1000), Cmd ["id"].
	TagUser = "user"
	// TagHealth: Cmd ["sh", "-c", "touch /tmp/healthy; httpd -f -p 8080 -h
	// /srv"], an extra layer with /srv/index.html ("ecsd test page\n"),
	// ExposedPorts 8080/tcp. OCI image configs carry no health check, so a
	// task gives its own: ["CMD-SHELL", "test -f /tmp/healthy"] or
	// ["CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/"].
	TagHealth = "health"
)

// ImageTags returns every tag Images builds, in a fixed order.
func ImageTags() []string {
	return []string{TagShell, TagEntrypoint, TagUser, TagHealth}
}

// HealthPage is /srv/index.html in the health image, the body its httpd
// serves.
const HealthPage = "ecsd test page\n"

const (
	busyboxPath = "/usr/bin/busybox"
	imagePath   = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// ImageSet is the set of test images, built into Dir.
type ImageSet struct {
	Dir     string        // build directory (a t.TempDir)
	Archive string        // OCI image layout tar holding every tag; also has a Docker manifest.json
	Store   content.Store // content store holding every blob, for pushes
	// Manifests holds each tag's manifest descriptor (digest, size,
	// platform).
	Manifests map[string]ocispec.Descriptor

	archives map[string]string
}

// Ref returns the local name of a tag, as Import records it:
// "ecsd.test/busybox:TAG".
func (s *ImageSet) Ref(tag string) string {
	s.mustHave(tag)
	return ImageRepo + ":" + tag
}

// ArchiveFor returns the path of an archive holding only this tag.
func (s *ImageSet) ArchiveFor(tag string) string {
	s.mustHave(tag)
	return s.archives[tag]
}

// Digest returns the digest of a tag's manifest.
func (s *ImageSet) Digest(tag string) digest.Digest {
	s.mustHave(tag)
	return s.Manifests[tag].Digest
}

func (s *ImageSet) mustHave(tag string) {
	if _, ok := s.Manifests[tag]; !ok {
		panic(fmt.Sprintf("testenv: no test image tagged %q; tags are %v", tag, ImageTags()))
	}
}

// Images builds the test images from the host's static busybox, without any
// daemon, into a fresh t.TempDir, and writes them as OCI archives that
// client.Import and `ctr images import` read.
func Images(t testing.TB) *ImageSet {
	t.Helper()
	set, err := buildImages(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("testenv: build test images: %v", err)
	}
	return set
}

// BuildImages builds the same images into dir without a test, for the
// demo (internal/demo/mkimage).
func BuildImages(ctx context.Context, dir string) (*ImageSet, error) {
	return buildImages(ctx, dir)
}

// imageEpoch is the time stamp of every file and image, so builds are
// reproducible and digests stable.
var imageEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// layer is a compressed layer blob and the digest of its uncompressed tar.
type layer struct {
	desc   ocispec.Descriptor
	diffID digest.Digest
}

func buildImages(ctx context.Context, dir string) (*ImageSet, error) {
	bb, applets, err := readBusybox()
	if err != nil {
		return nil, err
	}
	store, err := local.NewStore(filepath.Join(dir, "content"))
	if err != nil {
		return nil, fmt.Errorf("open content store: %w", err)
	}
	set := &ImageSet{
		Dir:       dir,
		Archive:   filepath.Join(dir, "images.tar"),
		Store:     store,
		Manifests: map[string]ocispec.Descriptor{},
		archives:  map[string]string{},
	}

	base, err := writeLayer(ctx, store, baseEntries(bb, applets))
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	srv, err := writeLayer(ctx, store, []tarEntry{dirEntry("srv/", 0o755, 0)})
	if err != nil {
		return nil, fmt.Errorf("srv layer: %w", err)
	}
	page, err := writeLayer(ctx, store, []tarEntry{
		dirEntry("srv/", 0o755, 0),
		fileEntry("srv/index.html", 0o644, []byte(HealthPage)),
	})
	if err != nil {
		return nil, fmt.Errorf("health layer: %w", err)
	}

	builds := []struct {
		tag    string
		layers []layer
		config ocispec.ImageConfig
	}{
		{TagShell, []layer{base}, ocispec.ImageConfig{
			Env: []string{imagePath},
			Cmd: []string{"sh"},
		}},
		{TagEntrypoint, []layer{base, srv}, ocispec.ImageConfig{
			Env:        []string{imagePath, "IMAGE_ONLY=image", "SHARED=image"},
			Entrypoint: []string{"/bin/echo", "from-entrypoint"},
			Cmd:        []string{"default-cmd"},
			WorkingDir: "/srv",
			StopSignal: "SIGUSR1",
			Labels:     map[string]string{"org.ecsd.test": "entrypoint"},
		}},
		{TagUser, []layer{base}, ocispec.ImageConfig{
			Env:  []string{imagePath},
			User: "app",
			Cmd:  []string{"id"},
		}},
		{TagHealth, []layer{base, page}, ocispec.ImageConfig{
			Env:          []string{imagePath},
			Cmd:          []string{"sh", "-c", "touch /tmp/healthy; httpd -f -p 8080 -h /srv"},
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		}},
	}
	for _, s := range builds {
		desc, err := writeImage(ctx, store, s.layers, s.config)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", s.tag, err)
		}
		set.Manifests[s.tag] = desc
	}

	var all []archive.ExportOpt
	for _, tag := range ImageTags() {
		all = append(all, archive.WithManifest(set.Manifests[tag], set.Ref(tag)))
		set.archives[tag] = filepath.Join(dir, "busybox-"+tag+".tar")
		if err := exportArchive(ctx, store, set.archives[tag], archive.WithManifest(set.Manifests[tag], set.Ref(tag))); err != nil {
			return nil, err
		}
	}
	if err := exportArchive(ctx, store, set.Archive, all...); err != nil {
		return nil, err
	}
	return set, nil
}

// readBusybox reads the static busybox and lists its applets.
func readBusybox() ([]byte, []string, error) {
	missing := fmt.Errorf("%s is needed to build the test images; run `make deps` (busybox-static)", busyboxPath)
	f, err := elf.Open(busyboxPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", missing, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			f.Close()
			return nil, nil, fmt.Errorf("%s is dynamically linked; install busybox-static", busyboxPath)
		}
	}
	f.Close()
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", missing, err)
	}
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("%s --list: %w", busyboxPath, err)
	}
	var applets []string
	hasSh := false
	for _, a := range strings.Fields(string(out)) {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		hasSh = hasSh || a == "sh"
		applets = append(applets, a)
	}
	if !hasSh {
		return nil, nil, fmt.Errorf("%s has no sh applet", busyboxPath)
	}
	return bb, applets, nil
}

// tarEntry is one file of a layer.
type tarEntry struct {
	hdr  tar.Header
	data []byte
}

func dirEntry(name string, mode int64, id int) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: id, Gid: id}}
}

func fileEntry(name string, mode int64, data []byte) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}, data: data}
}

func symlinkEntry(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

const (
	etcPasswd = `root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
`
	etcGroup = `root:x:0:
app:x:1000:
staff:x:50:app
nogroup:x:65534:
`
)

// baseEntries is the shared base layer.
func baseEntries(busybox []byte, applets []string) []tarEntry {
	entries := []tarEntry{
		dirEntry("bin/", 0o755, 0),
		dirEntry("dev/", 0o755, 0),
		dirEntry("etc/", 0o755, 0),
		dirEntry("home/", 0o755, 0),
		dirEntry("home/app/", 0o755, 1000),
		dirEntry("proc/", 0o555, 0),
		dirEntry("root/", 0o700, 0),
		dirEntry("sys/", 0o555, 0),
		dirEntry("tmp/", 0o1777, 0),
		fileEntry("bin/busybox", 0o755, busybox),
		fileEntry("etc/passwd", 0o644, []byte(etcPasswd)),
		fileEntry("etc/group", 0o644, []byte(etcGroup)),
		fileEntry("etc/hosts", 0o644, nil),
		fileEntry("etc/resolv.conf", 0o644, nil),
	}
	for _, a := range applets {
		entries = append(entries, symlinkEntry("bin/"+a, "busybox"))
	}
	return entries
}

// writeLayer writes entries as a gzip-compressed tar into the store.
func writeLayer(ctx context.Context, store content.Ingester, entries []tarEntry) (layer, error) {
	var compressed bytes.Buffer
	gz, err := gzip.NewWriterLevel(&compressed, gzip.BestSpeed)
	if err != nil {
		return layer{}, err
	}
	diffID := digest.SHA256.Digester()
	tw := tar.NewWriter(io.MultiWriter(gz, diffID.Hash()))
	for _, e := range entries {
		hdr := e.hdr
		hdr.ModTime = imageEpoch
		if err := tw.WriteHeader(&hdr); err != nil {
			return layer{}, fmt.Errorf("tar %s: %w", hdr.Name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return layer{}, fmt.Errorf("tar %s: %w", hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return layer{}, err
	}
	if err := gz.Close(); err != nil {
		return layer{}, err
	}
	desc, err := writeBlob(ctx, store, ocispec.MediaTypeImageLayerGzip, compressed.Bytes())
	if err != nil {
		return layer{}, err
	}
	return layer{desc: desc, diffID: diffID.Digest()}, nil
}

// writeImage writes an image config and its manifest into the store and
// returns the manifest's descriptor.
func writeImage(ctx context.Context, store content.Ingester, layers []layer, config ocispec.ImageConfig) (ocispec.Descriptor, error) {
	created := imageEpoch
	platform := ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	img := ocispec.Image{
		Created:  &created,
		Platform: platform,
		Config:   config,
		RootFS:   ocispec.RootFS{Type: "layers"},
	}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
	}
	for _, l := range layers {
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, l.diffID)
		manifest.Layers = append(manifest.Layers, l.desc)
	}
	b, err := json.Marshal(img)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if manifest.Config, err = writeBlob(ctx, store, ocispec.MediaTypeImageConfig, b); err != nil {
		return ocispec.Descriptor{}, err
	}
	if b, err = json.Marshal(manifest); err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, err := writeBlob(ctx, store, ocispec.MediaTypeImageManifest, b)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc.Platform = &platform
	return desc, nil
}

// writeBlob stores data and returns its descriptor.
func writeBlob(ctx context.Context, store content.Ingester, mediaType string, data []byte) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := content.WriteBlob(ctx, store, "testenv-"+desc.Digest.Encoded(), bytes.NewReader(data), desc); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write blob %s: %w", desc.Digest, err)
	}
	return desc, nil
}

// exportArchive writes an OCI image layout tar of the given manifests.
func exportArchive(ctx context.Context, store content.InfoReaderProvider, path string, opts ...archive.ExportOpt) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := archive.Export(ctx, store, f, opts...); err != nil {
		f.Close()
		return fmt.Errorf("export %s: %w", path, err)
	}
	return f.Close()
}
