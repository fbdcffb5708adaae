package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pelletier/go-toml/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CRINamespace is the containerd namespace the CRI plugin keeps its images,
// sandboxes and containers in.
const CRINamespace = "k8s.io"

// SandboxImage is the pause image the CRI daemon is configured with; the
// test builds it (BuildSandboxImage) and imports it (PrepareCRI).
const SandboxImage = "vigil.test/pause:1"

// CRIHandler is one runtime handler of containerd's CRI plugin: the name a
// RuntimeClass's handler (and RunPodSandbox's runtime_handler) refers to.
type CRIHandler struct {
	Name string
	// RuntimeType defaults to Runtime (io.containerd.vigil.v2).
	RuntimeType string
	// Options is the handler's `options` table (ConfigPath, BinaryName,
	// SystemdCgroup, ...), sent to the shim as runtimeoptions.v1.Options.
	Options map[string]any
	// PodAnnotations and ContainerAnnotations are the annotation keys (or
	// patterns) CRI copies from the pod / container into the OCI spec.
	PodAnnotations       []string
	ContainerAnnotations []string
}

// criConfig renders the CRI plugin's part of a config version 3: the pinned
// sandbox image, no CNI (pods use the host network), restricted
// oom_score_adj (this kind of host refuses lowering it) and the runtime
// handlers.
func (d *Daemon) criConfig(opts DaemonOptions) string {
	handlers := opts.CRIHandlers
	if len(handlers) == 0 {
		h := CRIHandler{Name: "vigil"}
		if opts.PolicyConfig != "" {
			h.Options = map[string]any{"ConfigPath": opts.PolicyConfig}
		}
		handlers = []CRIHandler{h}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[plugins.'io.containerd.cri.v1.images'.pinned_images]\n  sandbox = %q\n", SandboxImage)
	b.WriteString("[plugins.'io.containerd.cri.v1.runtime']\n  restrict_oom_score_adj = true\n")
	fmt.Fprintf(&b, "[plugins.'io.containerd.cri.v1.runtime'.cni]\n  conf_dir = %q\n  bin_dirs = [%q]\n",
		filepath.Join(d.Dir, "cni", "net.d"), filepath.Join(d.Dir, "cni", "bin"))
	for _, h := range handlers {
		rt := h.RuntimeType
		if rt == "" {
			rt = Runtime
		}
		fmt.Fprintf(&b, "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.%s]\n  runtime_type = %q\n", h.Name, rt)
		if len(h.PodAnnotations) > 0 {
			fmt.Fprintf(&b, "  pod_annotations = %s\n", tomlStrings(h.PodAnnotations))
		}
		if len(h.ContainerAnnotations) > 0 {
			fmt.Fprintf(&b, "  container_annotations = %s\n", tomlStrings(h.ContainerAnnotations))
		}
		if len(h.Options) > 0 {
			body, err := toml.Marshal(h.Options)
			if err != nil {
				// Options are literals written by tests; a value TOML cannot
				// hold is a bug in the test.
				panic(fmt.Sprintf("CRI handler %s options: %v", h.Name, err))
			}
			fmt.Fprintf(&b, "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.%s.options]\n%s", h.Name, body)
		}
	}
	return b.String()
}

func tomlStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// CtrIn runs ctr against the daemon in namespace ns.
func (d *Daemon) CtrIn(ctx context.Context, ns string, args ...string) (string, error) {
	full := append([]string{"--address", d.Address, "--namespace", ns}, args...)
	cmd := exec.CommandContext(ctx, d.Tools.Ctr, full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("ctr -n %s %s: %w: %s", ns, strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// PrepareCRI builds the sandbox image and a busybox image and imports both
// into the CRI namespace; the busybox image is tagged with every name in
// images. Call it once after StartDaemon with CRI.
func (d *Daemon) PrepareCRI(ctx context.Context, images ...string) error {
	pause := filepath.Join(d.Dir, "pause.tar")
	if err := BuildSandboxImage(pause, SandboxImage); err != nil {
		return err
	}
	if _, err := d.CtrIn(ctx, CRINamespace, "images", "import", pause); err != nil {
		return err
	}
	if len(images) == 0 {
		return nil
	}
	bb := filepath.Join(d.Dir, "cri-busybox.tar")
	if err := BuildBusyboxImage(bb, images[0]); err != nil {
		return err
	}
	if _, err := d.CtrIn(ctx, CRINamespace, "images", "import", bb); err != nil {
		return err
	}
	for _, t := range images[1:] {
		if _, err := d.CtrIn(ctx, CRINamespace, "images", "tag", "--force", images[0], t); err != nil {
			return err
		}
	}
	return nil
}

// BuildSandboxImage writes an OCI archive of a pause image: the busybox
// image whose entrypoint blocks forever (/bin/sleep 2147483647), so a pod
// sandbox stays up until it is stopped.
func BuildSandboxImage(out, name string) error {
	tmp := out + ".busybox"
	if err := BuildBusyboxImage(tmp, name); err != nil {
		return err
	}
	defer os.Remove(tmp)
	return rewriteImageConfig(tmp, out, func(c *ocispec.ImageConfig) {
		c.Entrypoint = []string{"/bin/sleep", "2147483647"}
		c.Cmd = nil
	})
}

// rewriteImageConfig copies the single-image OCI archive in to out with its
// image config changed by edit; config, manifest and index are re-digested.
func rewriteImageConfig(in, out string, edit func(*ocispec.ImageConfig)) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	files := map[string][]byte{}
	var order []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", in, err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("read %s: %w", in, err)
		}
		files[h.Name] = b
		order = append(order, h.Name)
	}
	blob := func(d digest.Digest) string { return "blobs/sha256/" + d.Encoded() }
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil || len(idx.Manifests) != 1 {
		return fmt.Errorf("%s: index.json does not name one image (%v)", in, err)
	}
	var man ocispec.Manifest
	if err := json.Unmarshal(files[blob(idx.Manifests[0].Digest)], &man); err != nil {
		return fmt.Errorf("%s: manifest: %w", in, err)
	}
	var img ocispec.Image
	if err := json.Unmarshal(files[blob(man.Config.Digest)], &img); err != nil {
		return fmt.Errorf("%s: image config: %w", in, err)
	}
	delete(files, blob(idx.Manifests[0].Digest))
	delete(files, blob(man.Config.Digest))
	edit(&img.Config)
	cfg, err := json.Marshal(img)
	if err != nil {
		return err
	}
	man.Config = descriptor(ocispec.MediaTypeImageConfig, cfg)
	manJSON, err := json.Marshal(man)
	if err != nil {
		return err
	}
	md := descriptor(ocispec.MediaTypeImageManifest, manJSON)
	md.Annotations, md.Platform = idx.Manifests[0].Annotations, idx.Manifests[0].Platform
	idx.Manifests[0] = md
	idxJSON, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	files["index.json"] = idxJSON
	files[blob(man.Config.Digest)] = cfg
	files[blob(md.Digest)] = manJSON
	order = append(order, blob(man.Config.Digest), blob(md.Digest))

	o, err := os.Create(out)
	if err != nil {
		return err
	}
	defer o.Close()
	tw := tar.NewWriter(o)
	seen := map[string]bool{}
	for _, name := range order {
		data, ok := files[name]
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return o.Close()
}

// CRI is a client of the daemon's CRI gRPC API, the one kubelet uses.
type CRI struct {
	Runtime runtimeapi.RuntimeServiceClient
	Images  runtimeapi.ImageServiceClient
	conn    *grpc.ClientConn
}

// DialCRI connects to the daemon's CRI API and waits until the runtime
// reports ready (the CRI plugin initialises after the socket answers).
func (d *Daemon) DialCRI(ctx context.Context) (*CRI, error) {
	conn, err := grpc.NewClient("unix://"+d.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial CRI at %s: %w", d.Address, err)
	}
	c := &CRI{Runtime: runtimeapi.NewRuntimeServiceClient(conn), Images: runtimeapi.NewImageServiceClient(conn), conn: conn}
	var last error
	for {
		st, err := c.Runtime.Status(ctx, &runtimeapi.StatusRequest{})
		if err == nil {
			for _, cond := range st.GetStatus().GetConditions() {
				if cond.Type == runtimeapi.RuntimeReady && cond.Status {
					return c, nil
				}
			}
			err = fmt.Errorf("runtime not ready: %v", st.GetStatus().GetConditions())
		}
		last = err
		select {
		case <-ctx.Done():
			conn.Close()
			return nil, fmt.Errorf("CRI at %s not ready: %w (last: %v)", d.Address, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close closes the connection.
func (c *CRI) Close() error { return c.conn.Close() }

// HostNetworkPod returns the sandbox config kubelet sends for a pod with
// hostNetwork: true (no CNI) and the given labels and annotations.
func HostNetworkPod(name, namespace string, labels, annotations map[string]string) *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata:    &runtimeapi.PodSandboxMetadata{Name: name, Namespace: namespace, Uid: namespace + "-" + name + "-uid"},
		Labels:      labels,
		Annotations: annotations,
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
			},
		},
	}
}

// Container returns the container config kubelet sends for a container with
// the given image and command; kubelet's own labels (pod name, namespace,
// container name) are set the way kubelet sets them.
func Container(pod *runtimeapi.PodSandboxConfig, name, image string, labels, annotations map[string]string, cmd ...string) *runtimeapi.ContainerConfig {
	l := map[string]string{
		"io.kubernetes.pod.name":       pod.Metadata.Name,
		"io.kubernetes.pod.namespace":  pod.Metadata.Namespace,
		"io.kubernetes.pod.uid":        pod.Metadata.Uid,
		"io.kubernetes.container.name": name,
	}
	for k, v := range labels {
		l[k] = v
	}
	return &runtimeapi.ContainerConfig{
		Metadata:    &runtimeapi.ContainerMetadata{Name: name},
		Image:       &runtimeapi.ImageSpec{Image: image},
		Command:     cmd,
		Labels:      l,
		Annotations: annotations,
		Linux:       &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{}},
	}
}

// RemovePod stops and removes every container of the pod, then the pod, as
// kubelet does when a pod is deleted. Errors are joined, not stopped at.
func (c *CRI) RemovePod(ctx context.Context, podID string) error {
	var errs []string
	cs, err := c.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: podID}})
	if err != nil {
		errs = append(errs, err.Error())
	}
	for _, ct := range cs.GetContainers() {
		if _, err := c.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ct.Id, Timeout: 0}); err != nil {
			errs = append(errs, err.Error())
		}
		if _, err := c.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: ct.Id}); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if _, err := c.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		errs = append(errs, err.Error())
	}
	if _, err := c.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove pod %s: %s", podID, strings.Join(errs, "; "))
	}
	return nil
}

// ContainerRecord returns containerd's record of a container (its labels
// and runtime) in namespace ns, read over containerd's containers API.
func (d *Daemon) ContainerRecord(ctx context.Context, ns, id string) (*containersapi.Container, error) {
	conn, err := grpc.NewClient("unix://"+d.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	resp, err := containersapi.NewContainersClient(conn).Get(namespaces.WithNamespace(ctx, ns), &containersapi.GetContainerRequest{ID: id})
	if err != nil {
		return nil, fmt.Errorf("containerd record of %s/%s: %w", ns, id, err)
	}
	return resp.Container, nil
}
