package harness

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The image archive is a valid OCI layout whose index names the image.
func TestBuildBusyboxImage(t *testing.T) {
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skipf("requires Debian's busybox-static (%s): %v", BusyboxPath, err)
	}
	out := filepath.Join(t.TempDir(), "img.tar")
	if err := BuildBusyboxImage(out, "docker.io/vigil/test:1", ImageFile{Path: "/app/x", Mode: 0o755, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		names[h.Name] = b
	}
	var idx ocispec.Index
	if err := json.Unmarshal(names["index.json"], &idx); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if len(idx.Manifests) != 1 || idx.Manifests[0].Annotations["io.containerd.image.name"] != "docker.io/vigil/test:1" {
		t.Fatalf("index does not name the image: %+v", idx.Manifests)
	}
	if _, ok := names["blobs/sha256/"+idx.Manifests[0].Digest.Encoded()]; !ok {
		t.Fatal("manifest blob missing")
	}
	if _, ok := names[ocispec.ImageLayoutFile]; !ok {
		t.Fatal("oci-layout missing")
	}
}

// A private containerd starts, imports the image and runs a container with
// the stock runc shim; Stop removes its root.
func TestDaemonRunsStockRunc(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("requires root: runs containerd and runc")
	}
	if testing.Short() {
		t.Skip("builds containerd and runc; not with -short")
	}
	tools, err := BuildTools()
	if err != nil {
		t.Fatal(err)
	}
	defer tools.Cleanup()
	d, err := StartDaemon(tools, DaemonOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := d.Dir
	defer func() {
		d.Stop()
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("daemon root %s left behind", dir)
		}
	}()
	archive := filepath.Join(d.Dir, "img.tar")
	if err := BuildBusyboxImage(archive, "docker.io/vigil/busybox:latest"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := d.ImportImage(ctx, archive, "docker.io/vigil/busybox:latest"); err != nil {
		t.Fatal(err)
	}
	res, err := d.Run(ctx, "io.containerd.runc.v2", "docker.io/vigil/busybox:latest", "smoke", nil, "sh", "-c", "echo hello; exit 3")
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	if !strings.Contains(res.Output, "hello") || res.ExitCode != 3 {
		t.Fatalf("got exit %d output %q", res.ExitCode, res.Output)
	}
}
