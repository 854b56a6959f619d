package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mkpkg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "package version, e.g. from git describe (required)")
	arch := fs.String("arch", runtime.GOARCH, "GOARCH of the binary")
	binary := fs.String("binary", "bin/ecsd", "the ecsd binary to package")
	dir := fs.String("packaging", "packaging", "the packaging directory (unit, scripts, default config)")
	out := fs.String("out", "dist", "output directory")
	formats := fs.String("formats", "deb,rpm", "comma-separated package formats")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *version == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: mkpkg --version V [--arch A] [--binary bin/ecsd] [--packaging DIR] [--out DIR] [--formats deb,rpm]")
		return 2
	}
	v, err := pkgVersion(*version)
	if err != nil {
		fmt.Fprintf(stderr, "mkpkg: %v\n", err)
		return 2
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "mkpkg: %v\n", err)
		return 1
	}
	for _, format := range strings.Split(*formats, ",") {
		path := filepath.Join(*out, fmt.Sprintf("ecsd_%s_%s.%s", v, *arch, format))
		if err := build(format, v, *arch, *binary, *dir, path); err != nil {
			fmt.Fprintf(stderr, "mkpkg: %s: %v\n", format, err)
			return 1
		}
		fmt.Fprintln(stdout, path)
	}
	return 0
}

var unsafeChars = regexp.MustCompile(`[^0-9A-Za-z.+~]`)

// pkgVersion turns a git describe string (v1.2.0-3-gabcdef-dirty, or a bare
// commit hash when there is no tag) into a version both dpkg and rpm accept:
// it starts with a digit and holds no '-', which both use to split off the
// release.
func pkgVersion(describe string) (string, error) {
	v := strings.TrimPrefix(strings.TrimSpace(describe), "v")
	if v == "" {
		return "", fmt.Errorf("empty version")
	}
	if v[0] < '0' || v[0] > '9' {
		v = "0.0.0-" + v
	}
	base, rest, found := strings.Cut(v, "-")
	if found {
		v = base + "+" + strings.ReplaceAll(rest, "-", ".")
	}
	v = unsafeChars.ReplaceAllString(v, ".")
	return v, nil
}

func build(format, version, arch, binary, dir, path string) error {
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	unitDir := "/lib/systemd/system"
	depends := []string{"containerd | containerd.io", "runc", "containernetworking-plugins", "iptables"}
	if format == "rpm" {
		unitDir = "/usr/lib/systemd/system"
		depends = []string{"containerd", "runc", "containernetworking-plugins", "iptables"}
	}
	info := &nfpm.Info{
		Name:          "ecsd",
		Arch:          arch,
		Platform:      "linux",
		Version:       version,
		VersionSchema: "none",
		Release:       "1",
		Section:       "admin",
		Priority:      "optional",
		Maintainer:    "ecsd project <ecsd@example.invalid>",
		Description:   "Amazon ECS Anywhere agent on containerd, without Docker",
		Vendor:        "ecsd project",
		Homepage:      "https://github.com/ecsd-project/ecsd",
		License:       "Apache-2.0",
		Overridables: nfpm.Overridables{
			Depends: depends,
			Contents: files.Contents{
				{Source: binary, Destination: "/usr/bin/ecsd", FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				{Source: filepath.Join(dir, "systemd", "ecsd.service"), Destination: unitDir + "/ecsd.service",
					FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				{Source: filepath.Join(dir, "ecs.config"), Destination: "/etc/ecs/ecs.config",
					Type: files.TypeConfigNoReplace, FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				{Destination: "/var/lib/ecs", Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				{Destination: "/var/lib/ecs/data", Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o700}},
			},
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(dir, "scripts", "postinstall.sh"),
				PreRemove:   filepath.Join(dir, "scripts", "preremove.sh"),
			},
		},
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return err
	}
	if err := nfpm.Validate(info); err != nil {
		return err
	}
	pkgr, err := nfpm.Get(format)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := pkgr.Package(info, f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
