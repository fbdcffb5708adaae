package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/platforms"

	"github.com/vigil-dev/vigil/test/harness"
)

// clientsPolicy chooses by labels only the clients put on containerd's
// records (nerdctl's and ctr's), and leaves everything else unconfined so a
// chosen policy is visible as a seccomp filter.
const clientsPolicy = `
policies:
  - name: nerdctl-web
    match: {labels: {"nerdctl/name": "web-*"}}
    seccomp: hardened
  - name: billing
    match: {labels: {app: billing}}
    seccomp: hardened
  - name: batch
    match: {labels: {tier: batch}}
    seccomp: runtime/default
  - name: default
    match: {}
    seccomp: unconfined
`

// startPlain starts a containerd of the version without CRI, with the
// policy file in VIGIL_CONFIG (clients such as nerdctl pass no runtime
// options), and imports the busybox image.
func startPlain(t *testing.T, version, policy string) *harness.Daemon {
	t.Helper()
	tools, err := harness.BuildTools()
	if err != nil {
		t.Fatal(err)
	}
	d, err := harness.StartDaemon(tools, harness.DaemonOptions{Containerd: version, PolicyConfig: policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- containerd %s log (%s) ----\n%s", version, d.LogPath, tail(d.Log(), 150))
		}
		d.Stop()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	archive := filepath.Join(d.Dir, "busybox.tar")
	if err := harness.BuildBusyboxImage(archive, imgBusybox); err != nil {
		t.Fatal(err)
	}
	if err := d.ImportImage(ctx, archive, imgBusybox); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestClients runs ctr (the real binary of each containerd release) and a
// container created with nerdctl's request shape against every containerd
// line of the matrix.
func TestClients(t *testing.T) {
	needDaemon(t)
	versions, err := harness.MatrixVersions()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		t.Run("containerd-"+v, func(t *testing.T) {
			policy := writePolicy(t, clientsPolicy)
			d := startPlain(t, v, policy)
			t.Run("CtrRun", func(t *testing.T) { ctrRun(t, d, policy) })
			t.Run("NerdctlRequestShape", func(t *testing.T) { nerdctlShape(t, d) })
		})
	}
}

// ctr run with --runtime-config-path (runtimeoptions.v1 ConfigPath) and a
// --label: the label chooses the policy.
func ctrRun(t *testing.T, d *harness.Daemon, policy string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	probe := []string{"sh", "-c", "mkdir /tmp/d && echo MADE; grep Seccomp: /proc/self/status"}
	batch, err := d.Run(ctx, "", imgBusybox, "ctr-batch", []string{"--runtime-config-path", policy, "--label", "tier=batch"}, probe...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(batch.Output, "MADE") || seccompMode(t, batch.Output) != "2" {
		t.Errorf("policy batch (runtime/default) should filter and allow mkdir:\n%s", batch.Output)
	}
	plain, err := d.Run(ctx, "", imgBusybox, "ctr-plain", []string{"--runtime-config-path", policy}, probe...)
	if err != nil {
		t.Fatal(err)
	}
	if seccompMode(t, plain.Output) != "0" {
		t.Errorf("policy default (unconfined) should leave seccomp off:\n%s", plain.Output)
	}
}

// nerdctlShape creates containers the way `nerdctl run --runtime
// io.containerd.vigil.v2` does (nerdctl is not on the Go module proxy, so
// it is not run itself): through the containerd Go client with NO runtime
// options (nerdctl passes none for a runtime that is not runc), nerdctl's
// internal labels on containerd's record and propagated to OCI annotations,
// the user's --label only on the record, and containerd's default seccomp
// profile in the spec (nerdctl's default). Not reproduced: nerdctl's OCI
// hook, its binary:// log driver and CNI networking.
func nerdctlShape(t *testing.T, d *harness.Daemon) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, err := containerd.New(d.Address, containerd.WithDefaultNamespace(d.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	tests := []struct {
		name       string
		userLabels map[string]string
		want       string
		mkdir      bool
		mode       string
	}{
		{name: "web-1", want: "nerdctl-web", mkdir: false, mode: "2"},
		{name: "api", userLabels: map[string]string{"app": "billing"}, want: "billing", mkdir: false, mode: "2"},
		// nerdctl asked for its default seccomp profile; the administrator's
		// policy (unconfined) wins.
		{name: "tool", want: "default", mkdir: true, mode: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, labels, err := nerdctlRun(ctx, client, d.Namespace, tt.name, tt.userLabels,
				"sh", "-c", "mkdir /tmp/d && echo MADE; grep Seccomp: /proc/self/status")
			if err != nil {
				t.Fatal(err)
			}
			if got := labels["vigil.dev/policy"]; got != tt.want {
				t.Errorf("policy = %q, want %q (record labels %v)", got, tt.want, labels)
			}
			if strings.Contains(out, "MADE") != tt.mkdir || seccompMode(t, out) != tt.mode {
				t.Errorf("want mkdir=%v Seccomp=%s, got:\n%s", tt.mkdir, tt.mode, out)
			}
		})
	}
}

// nerdctlRun creates, starts and waits for a container with nerdctl's
// request shape and returns its output and the record's labels as they
// were before the container was deleted.
func nerdctlRun(ctx context.Context, client *containerd.Client, ns, name string, userLabels map[string]string, args ...string) (string, map[string]string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	id := hex.EncodeToString(b) // nerdctl's idgen: 64 hex characters
	img, err := client.GetImage(ctx, imgBusybox)
	if err != nil {
		return "", nil, err
	}
	internal := map[string]string{
		"nerdctl/name":      name,
		"nerdctl/namespace": ns,
		"nerdctl/platform":  platforms.DefaultString(),
		"nerdctl/hostname":  id[:12],
		"nerdctl/networks":  `["none"]`,
		"nerdctl/state-dir": "/var/lib/nerdctl/1935db59/containers/" + ns + "/" + id,
		"nerdctl/log-uri":   "binary:///usr/local/bin/nerdctl?_NERDCTL_INTERNAL_LOGGING=%2Fvar%2Flib%2Fnerdctl%2F1935db59",
	}
	labels := map[string]string{}
	for k, v := range userLabels {
		labels[k] = v
	}
	for k, v := range internal {
		labels[k] = v
	}
	c, err := client.NewContainer(ctx, id,
		containerd.WithImage(img),
		containerd.WithSnapshotter("overlayfs"),
		containerd.WithNewSnapshot(id, img),
		containerd.WithImageStopSignal(img, "SIGTERM"),
		containerd.WithRuntime(harness.Runtime, nil),
		containerd.WithAdditionalContainerLabels(labels),
		containerd.WithNewSpec(
			oci.WithDefaultSpec(),
			oci.WithImageConfigArgs(img, args),
			oci.WithHostname(id[:12]),
			seccomp.WithDefaultProfile(),
			oci.WithAnnotations(internal),
		),
	)
	if err != nil {
		return "", nil, err
	}
	defer c.Delete(context.WithoutCancel(ctx), containerd.WithSnapshotCleanup)
	var out syncBuffer
	task, err := c.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &out, &out)))
	if err != nil {
		return "", nil, err
	}
	exit, err := task.Wait(ctx)
	if err != nil {
		task.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
		return "", nil, err
	}
	if err := task.Start(ctx); err != nil {
		task.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
		return "", nil, err
	}
	select {
	case <-exit:
	case <-ctx.Done():
		task.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
		return "", nil, ctx.Err()
	}
	// Delete waits for the output to be copied.
	if _, err := task.Delete(ctx); err != nil {
		return "", nil, err
	}
	rec, err := c.Labels(ctx)
	return out.String(), rec, err
}

// syncBuffer is a buffer stdout and stderr copiers can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// containerd 1.7 talks to shims over task API v2 and reads the shim's
// address as a plain string; vigil's shim serves task v3 only. The decision
// (docs/kubernetes.md): vigil needs containerd 2.x; on 1.7 the container
// must fail to start, not run unhardened.
func TestContainerd17Refused(t *testing.T) {
	needDaemon(t)
	policy := writePolicy(t, clientsPolicy)
	d := startPlain(t, harness.Containerd17, policy)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := d.Run(ctx, "", imgBusybox, "legacy", nil, "echo", "RAN")
	t.Logf("containerd %s says: %v", harness.Containerd17, err)
	if err == nil || strings.Contains(res.Output, "RAN") {
		t.Fatalf("a container ran under vigil on containerd %s: exit %d, output %q", harness.Containerd17, res.ExitCode, res.Output)
	}
	// The refusal comes from the shim library vigil is built on: it names
	// the runtime and the API mismatch.
	for _, want := range []string{harness.Runtime, "deprecated API", "new API"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %q: %v", want, err)
		}
	}
}
