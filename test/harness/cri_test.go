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

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pelletier/go-toml/v2"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The CRI part of the config is TOML containerd 2.x reads: every handler
// under the runtime plugin, its options table, the pinned sandbox image.
func TestCRIConfig(t *testing.T) {
	tests := []struct {
		name  string
		opts  DaemonOptions
		check func(t *testing.T, runtimes map[string]any)
	}{
		{
			name: "default handler takes PolicyConfig as ConfigPath",
			opts: DaemonOptions{CRI: true, PolicyConfig: "/etc/vigil/x.yaml"},
			check: func(t *testing.T, rt map[string]any) {
				v := rt["vigil"].(map[string]any)
				if v["runtime_type"] != Runtime {
					t.Errorf("runtime_type = %v", v["runtime_type"])
				}
				if got := v["options"].(map[string]any)["ConfigPath"]; got != "/etc/vigil/x.yaml" {
					t.Errorf("ConfigPath = %v", got)
				}
			},
		},
		{
			name: "explicit handlers with options and annotation allowlists",
			opts: DaemonOptions{CRI: true, CRIHandlers: []CRIHandler{
				{Name: "vigil-wrapped", Options: map[string]any{"BinaryName": "/x/runc", "SystemdCgroup": true}, PodAnnotations: []string{"team.example.com/*"}},
				{Name: "plain", RuntimeType: "io.containerd.runc.v2"},
			}},
			check: func(t *testing.T, rt map[string]any) {
				w := rt["vigil-wrapped"].(map[string]any)
				o := w["options"].(map[string]any)
				if o["BinaryName"] != "/x/runc" || o["SystemdCgroup"] != true {
					t.Errorf("options = %v", o)
				}
				if pa := w["pod_annotations"].([]any); len(pa) != 1 || pa[0] != "team.example.com/*" {
					t.Errorf("pod_annotations = %v", pa)
				}
				if rt["plain"].(map[string]any)["runtime_type"] != "io.containerd.runc.v2" {
					t.Errorf("plain = %v", rt["plain"])
				}
				if _, ok := rt["vigil"]; ok {
					t.Error("the default vigil handler was added next to explicit handlers")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Daemon{Dir: "/tmp/d", Address: "/tmp/d/c.sock"}
			var cfg map[string]any
			if err := toml.Unmarshal([]byte(d.config(tt.opts)), &cfg); err != nil {
				t.Fatalf("config does not parse: %v\n%s", err, d.config(tt.opts))
			}
			plugins := cfg["plugins"].(map[string]any)
			img := plugins["io.containerd.cri.v1.images"].(map[string]any)
			if got := img["pinned_images"].(map[string]any)["sandbox"]; got != SandboxImage {
				t.Errorf("sandbox image = %v", got)
			}
			rtp := plugins["io.containerd.cri.v1.runtime"].(map[string]any)
			if rtp["restrict_oom_score_adj"] != true {
				t.Error("restrict_oom_score_adj not set")
			}
			if dis := cfg["disabled_plugins"].([]any); len(dis) != 1 || dis[0] != "io.containerd.nri.v1.nri" {
				t.Errorf("disabled_plugins = %v (CRI must stay enabled, NRI off)", dis)
			}
			tt.check(t, rtp["containerd"].(map[string]any)["runtimes"].(map[string]any))
		})
	}
}

// containerd 1.x gets a version 2 config with CRI off.
func TestLegacyConfig(t *testing.T) {
	d := &Daemon{Dir: "/tmp/d", Address: "/tmp/d/c.sock"}
	var cfg map[string]any
	if err := toml.Unmarshal([]byte(d.config(DaemonOptions{Containerd: "v1.7.35", CRI: true})), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["version"] != int64(2) {
		t.Errorf("version = %v, want 2", cfg["version"])
	}
	if _, ok := cfg["plugins"]; ok {
		t.Errorf("a 1.x config got CRI plugin sections: %v", cfg["plugins"])
	}
}

// The sandbox image is a valid OCI archive whose entrypoint blocks forever;
// every digest matches its blob.
func TestBuildSandboxImage(t *testing.T) {
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skipf("requires Debian's busybox-static (%s): %v", BusyboxPath, err)
	}
	out := filepath.Join(t.TempDir(), "pause.tar")
	if err := BuildSandboxImage(out, SandboxImage); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name], _ = io.ReadAll(tr)
	}
	for name, data := range files {
		if strings.HasPrefix(name, "blobs/sha256/") && digest.FromBytes(data).Encoded() != strings.TrimPrefix(name, "blobs/sha256/") {
			t.Errorf("blob %s does not match its digest", name)
		}
	}
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json: %v %+v", err, idx)
	}
	if idx.Manifests[0].Annotations["io.containerd.image.name"] != SandboxImage {
		t.Errorf("index does not name %s: %v", SandboxImage, idx.Manifests[0].Annotations)
	}
	var man ocispec.Manifest
	if err := json.Unmarshal(files["blobs/sha256/"+idx.Manifests[0].Digest.Encoded()], &man); err != nil {
		t.Fatal(err)
	}
	var img ocispec.Image
	if err := json.Unmarshal(files["blobs/sha256/"+man.Config.Digest.Encoded()], &img); err != nil {
		t.Fatal(err)
	}
	if strings.Join(img.Config.Entrypoint, " ") != "/bin/sleep 2147483647" || len(img.Config.Cmd) != 0 {
		t.Errorf("entrypoint %v cmd %v, want /bin/sleep 2147483647 and no cmd", img.Config.Entrypoint, img.Config.Cmd)
	}
}

// A CRI daemon runs a host-network pod with the stock runc handler from the
// sandbox image the harness built, and execs in a container of it.
func TestCRIDaemonRunsPodWithRunc(t *testing.T) {
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
	d, err := StartDaemon(tools, DaemonOptions{CRI: true, CRIHandlers: []CRIHandler{{Name: "runc", RuntimeType: "io.containerd.runc.v2"}}})
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const img = "docker.io/vigil/busybox:latest"
	if err := d.PrepareCRI(ctx, img); err != nil {
		t.Fatal(err)
	}
	c, err := d.DialCRI(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	defer c.Close()
	pod := HostNetworkPod("smoke", "default", map[string]string{"app": "smoke"}, nil)
	run, err := c.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: pod, RuntimeHandler: "runc"})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v\n%s", err, d.Log())
	}
	defer func() {
		if err := c.RemovePod(ctx, run.PodSandboxId); err != nil {
			t.Error(err)
		}
	}()
	cc, err := c.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: run.PodSandboxId, SandboxConfig: pod,
		Config: Container(pod, "app", img, nil, nil, "/bin/sleep", "600"),
	})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if _, err := c.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cc.ContainerId}); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	ex, err := c.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: cc.ContainerId, Cmd: []string{"echo", "hello"}, Timeout: 30})
	if err != nil || ex.ExitCode != 0 || strings.TrimSpace(string(ex.Stdout)) != "hello" {
		t.Fatalf("ExecSync: %v exit %d stdout %q stderr %q", err, ex.GetExitCode(), ex.GetStdout(), ex.GetStderr())
	}
	sb, err := c.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: run.PodSandboxId})
	if err != nil || sb.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("sandbox not ready: %v %v", err, sb.GetStatus().GetState())
	}
}
