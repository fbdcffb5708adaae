package harness

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BusyboxPath is where Debian's busybox-static installs its binary.
const BusyboxPath = "/bin/busybox"

// ImageFile is one extra file to put into a test image.
type ImageFile struct {
	Path string // absolute path inside the image
	Mode int64
	Data []byte
}

// BuildBusyboxImage writes an OCI image archive (for `ctr images import`) of
// a busybox rootfs built from the host's static busybox: /bin/busybox with a
// symlink per applet, /etc/passwd, /etc/group and /etc/shadow, plus extra
// files. name is the reference recorded in the archive.
func BuildBusyboxImage(out, name string, extra ...ImageFile) error {
	bb, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return fmt.Errorf("read %s (install Debian's busybox-static): %w", BusyboxPath, err)
	}
	list, err := exec.Command(BusyboxPath, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full: %w", err)
	}
	var layer bytes.Buffer
	gz := gzip.NewWriter(&layer)
	diff := sha256.New()
	tw := tar.NewWriter(&multiWriter{gz, diff})
	mtime := time.Unix(0, 0)
	dir := func(p string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: 0o755, ModTime: mtime})
	}
	file := func(p string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	dirs := map[string]bool{}
	mkdirs := func(p string) error {
		parts := strings.Split(filepath.Dir(p), "/")
		for i := range parts {
			d := strings.Join(parts[:i+1], "/")
			if d == "" || d == "." || dirs[d] {
				continue
			}
			dirs[d] = true
			if err := dir(d); err != nil {
				return err
			}
		}
		return nil
	}
	for _, d := range []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "tmp", "root", "proc", "sys", "dev", "var", "var/run", "run"} {
		if err := mkdirs(d + "/x"); err != nil {
			return err
		}
	}
	if err := file("bin/busybox", 0o755, bb); err != nil {
		return err
	}
	for _, app := range strings.Fields(string(list)) {
		if app == "bin/busybox" || !strings.Contains(app, "/") {
			continue
		}
		if err := mkdirs(app); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: app, Linkname: "/bin/busybox", Mode: 0o777, ModTime: mtime}); err != nil {
			return err
		}
	}
	files := []ImageFile{
		{"/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")},
		{"/etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")},
		{"/etc/shadow", 0o640, []byte("root:$6$vigiltest$notarealhashbutasecretanyway:19000:0:99999:7:::\n")},
	}
	for _, f := range append(files, extra...) {
		p := strings.TrimPrefix(f.Path, "/")
		if err := mkdirs(p); err != nil {
			return err
		}
		if err := file(p, f.Mode, f.Data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	diffID := digest.NewDigestFromBytes(digest.SHA256, diff.Sum(nil))

	cfg := ocispec.Image{
		Platform: ocispec.Platform{Architecture: goarch(), OS: "linux"},
		Config: ocispec.ImageConfig{
			Env:        []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd:        []string{"/bin/sh"},
			WorkingDir: "/",
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	layerBytes := layer.Bytes()
	manifest := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    descriptor(ocispec.MediaTypeImageConfig, cfgJSON),
		Layers:    []ocispec.Descriptor{descriptor(ocispec.MediaTypeImageLayerGzip, layerBytes)},
	}
	manifest.SchemaVersion = 2
	manJSON, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	manDesc := descriptor(ocispec.MediaTypeImageManifest, manJSON)
	manDesc.Annotations = map[string]string{
		"io.containerd.image.name": name,
		ocispec.AnnotationRefName:  refTag(name),
	}
	manDesc.Platform = &cfg.Platform
	index := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{manDesc}}
	index.SchemaVersion = 2
	idxJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	ow := tar.NewWriter(f)
	add := func(name string, data []byte) error {
		if err := ow.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := ow.Write(data)
		return err
	}
	for _, e := range []struct {
		name string
		data []byte
	}{
		{ocispec.ImageLayoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", idxJSON},
		{blobPath(cfgJSON), cfgJSON},
		{blobPath(layerBytes), layerBytes},
		{blobPath(manJSON), manJSON},
	} {
		if err := add(e.name, e.data); err != nil {
			return err
		}
	}
	if err := ow.Close(); err != nil {
		return err
	}
	return f.Close()
}

func descriptor(mediaType string, data []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
}

func blobPath(data []byte) string {
	return "blobs/sha256/" + digest.FromBytes(data).Encoded()
}

func refTag(name string) string {
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[i+1:]
	}
	return "latest"
}

type multiWriter struct {
	a, b interface{ Write([]byte) (int, error) }
}

func (m *multiWriter) Write(p []byte) (int, error) {
	if _, err := m.b.Write(p); err != nil {
		return 0, err
	}
	return m.a.Write(p)
}
