package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/vigil-dev/vigil/test/harness"
)

// criPolicy is the policy file the CRI tests run under. Order matters: the
// first match wins, so the refusal cases come first, then the pause
// container's own policy (before any pod label can claim the sandbox), then
// the pod-label, namespace and annotation policies.
const criPolicy = `
policies:
  - name: strict-apparmor
    match: {labels: {vigil.test/case: apparmor-required}}
    seccomp: runtime/default
    apparmor: {profile: vigil-default, mode: required}
  - name: missing-profile
    match: {labels: {vigil.test/case: missing-profile}}
    seccomp: /nonexistent/vigil-test/profile.json
  - name: pause
    match: {annotations: {"io.kubernetes.cri.container-type": sandbox}}
    seccomp: runtime/default
  - name: payments
    match: {labels: {app: payments}}
    seccomp: hardened
  - name: prod
    match: {namespaces: [prod]}
    seccomp: hardened
  - name: gold-team
    match: {annotations: {"team.example.com/tier": gold}}
    seccomp: hardened
  - name: default
    match: {}
    seccomp: runtime/default
`

// criEnv is one private containerd with CRI and the clients the tests use.
type criEnv struct {
	d       *harness.Daemon
	cri     *harness.CRI
	policy  string
	wrapped map[string]string // handler -> log file of its runc wrapper
}

// startCRI starts a containerd of the given version with the CRI plugin and
// these runtime handlers, all io.containerd.vigil.v2:
//
//	vigil              ConfigPath, pod annotations team.example.com/* allowlisted
//	vigil-noallow      ConfigPath, no annotation allowlist
//	vigil-body         VigilConfigPath + BinaryName (a runc wrapper): the TOML body path
//	vigil-systemd      VigilConfigPath + BinaryName + SystemdCgroup
//	vigil-path-binary  ConfigPath + BinaryName: containerd sends ConfigPath alone
//
// The daemon has no VIGIL_CONFIG, so only the options name the policy file.
func startCRI(t *testing.T, version string) *criEnv {
	t.Helper()
	tools, err := harness.BuildTools()
	if err != nil {
		t.Fatal(err)
	}
	e := &criEnv{policy: writePolicy(t, criPolicy), wrapped: map[string]string{}}
	wrapDir := t.TempDir()
	os.Chmod(wrapDir, 0o755)
	wrapper := func(handler string) string {
		log := filepath.Join(wrapDir, handler+".log")
		bin := filepath.Join(wrapDir, handler+"-runc")
		script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\nexec %s \"$@\"\n", log, tools.Runc)
		if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		e.wrapped[handler] = log
		return bin
	}
	handlers := []harness.CRIHandler{
		{Name: "vigil", Options: map[string]any{"ConfigPath": e.policy}, PodAnnotations: []string{"team.example.com/*"}},
		{Name: "vigil-noallow", Options: map[string]any{"ConfigPath": e.policy}},
		{Name: "vigil-body", Options: map[string]any{"VigilConfigPath": e.policy, "BinaryName": wrapper("vigil-body")}},
		{Name: "vigil-systemd", Options: map[string]any{"VigilConfigPath": e.policy, "BinaryName": wrapper("vigil-systemd"), "SystemdCgroup": true}},
		{Name: "vigil-path-binary", Options: map[string]any{"ConfigPath": e.policy, "BinaryName": wrapper("vigil-path-binary")}},
	}
	e.d, err = harness.StartDaemon(tools, harness.DaemonOptions{CRI: true, Containerd: version, CRIHandlers: handlers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- containerd %s log (%s) ----\n%s", version, e.d.LogPath, tail(e.d.Log(), 150))
		}
		if e.cri != nil {
			e.cri.Close()
		}
		e.d.Stop()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.d.PrepareCRI(ctx, imgBusybox); err != nil {
		t.Fatal(err)
	}
	if e.cri, err = e.d.DialCRI(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// pod runs a host-network pod sandbox with the handler, as kubelet does for
// a pod whose RuntimeClass names it, and removes it when the test ends.
func (e *criEnv) pod(t *testing.T, handler string, cfg *runtimeapi.PodSandboxConfig) string {
	t.Helper()
	id, err := e.runPod(handler, cfg)
	if err != nil {
		t.Fatalf("RunPodSandbox (handler %s): %v", handler, err)
	}
	return id
}

func (e *criEnv) runPod(handler string, cfg *runtimeapi.PodSandboxConfig) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := e.cri.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: handler})
	if err != nil {
		return "", err
	}
	return r.PodSandboxId, nil
}

func (e *criEnv) removePod(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.cri.RemovePod(ctx, id); err != nil {
		t.Error(err)
	}
}

// container creates and starts a long-running container in the pod.
func (e *criEnv) container(t *testing.T, podID string, pod *runtimeapi.PodSandboxConfig, name string, labels map[string]string) string {
	t.Helper()
	id, err := e.startContainer(podID, pod, name, labels)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *criEnv) startContainer(podID string, pod *runtimeapi.PodSandboxConfig, name string, labels map[string]string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// cat on an open stdin blocks forever on read(2). Not sleep: glibc's
	// nanosleep is clock_nanosleep(2), which the hardened profile (the
	// reference document's) does not allow, so sleep would die there.
	cfg := harness.Container(pod, name, imgBusybox, labels, nil, "/bin/cat")
	cfg.Stdin = true
	cc, err := e.cri.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: pod, Config: cfg})
	if err != nil {
		return "", fmt.Errorf("CreateContainer %s: %w", name, err)
	}
	if _, err := e.cri.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cc.ContainerId}); err != nil {
		return cc.ContainerId, fmt.Errorf("StartContainer %s: %w", name, err)
	}
	return cc.ContainerId, nil
}

// mkdirProbe execs into the container (ExecSync, as `kubectl exec` ends up
// doing) and reports whether mkdir worked and the Seccomp mode.
func (e *criEnv) mkdirProbe(t *testing.T, id string) (made bool, mode string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := fmt.Sprintf("/tmp/probe-%d", time.Now().UnixNano())
	r, err := e.cri.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{
		ContainerId: id, Timeout: 30,
		Cmd: []string{"sh", "-c", "mkdir " + dir + " && echo MADE; grep Seccomp: /proc/self/status"},
	})
	if err != nil {
		t.Fatalf("ExecSync in %s: %v", id, err)
	}
	out := string(r.Stdout) + string(r.Stderr)
	return strings.Contains(out, "MADE"), seccompMode(t, out)
}

// policyOf reads the vigil.dev/policy label the shim wrote on containerd's
// record of the container (the CRI namespace).
func (e *criEnv) policyOf(t *testing.T, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := e.d.ContainerRecord(ctx, harness.CRINamespace, id)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Labels["vigil.dev/policy"]
}

// sandboxRunning checks the pod is READY and its pause task is RUNNING.
func (e *criEnv) sandboxRunning(t *testing.T, podID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := e.cri.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: podID})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("pod %s is %v, want SANDBOX_READY", podID, st.Status.State)
	}
	out, err := e.d.CtrIn(ctx, harness.CRINamespace, "tasks", "ls")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == podID {
			if f[2] != "RUNNING" {
				t.Errorf("pause task of %s is %s, want RUNNING", podID, f[2])
			}
			return
		}
	}
	t.Errorf("no pause task for pod %s:\n%s", podID, out)
}

// TestCRI drives containerd's CRI plugin over its gRPC API, the way kubelet
// does, against every containerd line of the matrix (go.mod's pin and 2.3).
func TestCRI(t *testing.T) {
	needDaemon(t)
	versions, err := harness.MatrixVersions()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		t.Run("containerd-"+v, func(t *testing.T) { criSuite(t, v) })
	}
}

func criSuite(t *testing.T, version string) {
	e := startCRI(t, version)

	// (a) The pod's labels choose the policy of its containers: app=payments
	// is set on the pod only, kubelet does not copy it to containers, and
	// the shim reads it from the sandbox container's containerd record.
	t.Run("PodLabelChoosesPolicy", func(t *testing.T) {
		pod := harness.HostNetworkPod("payments", "default", map[string]string{"app": "payments"}, nil)
		podID := e.pod(t, "vigil", pod)
		defer e.removePod(t, podID)
		id := e.container(t, podID, pod, "api", nil)
		if got := e.policyOf(t, id); got != "payments" {
			t.Errorf("container policy = %q, want payments (chosen by the pod label)", got)
		}
		if made, mode := e.mkdirProbe(t, id); made || mode != "2" {
			t.Errorf("payments is seccomp hardened: mkdir made=%v Seccomp=%s, want denied and 2", made, mode)
		}
		// (b) The pause container has its own policy and outlives the
		// workload's activity.
		if got := e.policyOf(t, podID); got != "pause" {
			t.Errorf("sandbox policy = %q, want pause", got)
		}
		e.sandboxRunning(t, podID)
	})

	t.Run("NamespaceChoosesPolicy", func(t *testing.T) {
		pod := harness.HostNetworkPod("ledger", "prod", nil, nil)
		podID := e.pod(t, "vigil", pod)
		defer e.removePod(t, podID)
		id := e.container(t, podID, pod, "api", nil)
		if got := e.policyOf(t, id); got != "prod" {
			t.Errorf("container policy = %q, want prod (chosen by the Kubernetes namespace)", got)
		}
		if made, _ := e.mkdirProbe(t, id); made {
			t.Error("prod is seccomp hardened but mkdir worked")
		}
		e.sandboxRunning(t, podID)
	})

	t.Run("DefaultPolicy", func(t *testing.T) {
		pod := harness.HostNetworkPod("plain", "default", map[string]string{"app": "web"}, nil)
		podID := e.pod(t, "vigil", pod)
		defer e.removePod(t, podID)
		id := e.container(t, podID, pod, "web", nil)
		if got := e.policyOf(t, id); got != "default" {
			t.Errorf("container policy = %q, want default", got)
		}
		if made, mode := e.mkdirProbe(t, id); !made || mode != "2" {
			t.Errorf("default is runtime/default: mkdir made=%v Seccomp=%s, want allowed and 2", made, mode)
		}
	})

	// A pod annotation reaches the OCI spec only when the handler's
	// pod_annotations allowlists it; then match.annotations sees it.
	t.Run("AllowlistedPodAnnotation", func(t *testing.T) {
		ann := map[string]string{"team.example.com/tier": "gold"}
		for _, c := range []struct{ handler, want string }{{"vigil", "gold-team"}, {"vigil-noallow", "default"}} {
			pod := harness.HostNetworkPod("gold-"+c.handler, "default", nil, ann)
			podID := e.pod(t, c.handler, pod)
			id := e.container(t, podID, pod, "app", nil)
			if got := e.policyOf(t, id); got != c.want {
				t.Errorf("handler %s: container policy = %q, want %q", c.handler, got, c.want)
			}
			e.removePod(t, podID)
		}
	})

	// (c) A pod whose policy cannot be applied (AppArmor required on a host
	// without AppArmor) fails RunPodSandbox with the policy's name.
	t.Run("UnapplicablePolicyFailsRunPodSandbox", func(t *testing.T) {
		if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && strings.TrimSpace(string(b)) == "Y" {
			t.Skip("requires a host without AppArmor: this one has it, so `required` would not refuse")
		}
		pod := harness.HostNetworkPod("strict", "default", map[string]string{"vigil.test/case": "apparmor-required"}, nil)
		id, err := e.runPod("vigil", pod)
		if err == nil {
			e.removePod(t, id)
			t.Fatal("RunPodSandbox succeeded for a pod whose policy requires AppArmor on a host without it")
		}
		for _, want := range []string{"vigil refused", "strict-apparmor", "AppArmor"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("RunPodSandbox error does not name %q: %v", want, err)
			}
		}
		t.Logf("kubelet would report: %v", err)
		e.noPod(t, "strict")
	})

	// (c) A container whose policy cannot be applied (its seccomp profile
	// file is missing) fails StartContainer (CRI creates the task there),
	// naming the policy; the pod itself stays up.
	t.Run("UnapplicablePolicyFailsStartContainer", func(t *testing.T) {
		pod := harness.HostNetworkPod("broken", "default", nil, nil)
		podID := e.pod(t, "vigil", pod)
		defer e.removePod(t, podID)
		_, err := e.startContainer(podID, pod, "app", map[string]string{"vigil.test/case": "missing-profile"})
		if err == nil {
			t.Fatal("a container whose seccomp profile file is missing started")
		}
		for _, want := range []string{"StartContainer", "vigil refused", "missing-profile", "/nonexistent/vigil-test/profile.json"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not name %q: %v", want, err)
			}
		}
		t.Logf("kubelet would report: %v", err)
		e.sandboxRunning(t, podID)
	})

	t.Run("RuntimeOptions", func(t *testing.T) { e.runtimeOptions(t) })
}

// noPod checks no sandbox of that name is left after a refused RunPodSandbox.
func (e *criEnv) noPod(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := e.cri.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Items {
		if p.Metadata.Name == name {
			t.Errorf("refused pod %s left sandbox %s in state %v", name, p.Id, p.State)
			e.cri.RemovePod(ctx, p.Id)
		}
	}
}

// runtimeOptions checks what CRI's runtimeoptions.v1 carries reaches the
// shim and, translated to runc options, runc itself.
func (e *criEnv) runtimeOptions(t *testing.T) {
	called := func(handler string) string {
		b, _ := os.ReadFile(e.wrapped[handler])
		return string(b)
	}
	// The TOML body: BinaryName reaches runc (the wrapper ran create, start
	// and exec) and VigilConfigPath names the policy file.
	t.Run("BodyBinaryNameAndVigilConfigPath", func(t *testing.T) {
		pod := harness.HostNetworkPod("body", "default", map[string]string{"app": "payments"}, nil)
		podID := e.pod(t, "vigil-body", pod)
		defer e.removePod(t, podID)
		id := e.container(t, podID, pod, "api", nil)
		if got := e.policyOf(t, id); got != "payments" {
			t.Errorf("policy = %q, want payments: VigilConfigPath from the options body was not used", got)
		}
		e.mkdirProbe(t, id)
		log := called("vigil-body")
		for _, verb := range []string{"create", "start", "exec"} {
			if !strings.Contains(log, " "+verb+" ") {
				t.Errorf("the BinaryName wrapper never ran `runc %s`; its log:\n%s", verb, log)
			}
		}
		if strings.Contains(log, "--systemd-cgroup") {
			t.Errorf("SystemdCgroup is false but runc got --systemd-cgroup:\n%s", log)
		}
	})

	// SystemdCgroup = true reaches runc as --systemd-cgroup. The pod's
	// cgroup parent is a systemd slice, so CRI writes the systemd-style
	// cgroupsPath slice:prefix:name. Without systemd on the host runc
	// refuses, which is runc's answer, not vigil's.
	t.Run("BodySystemdCgroup", func(t *testing.T) {
		pod := harness.HostNetworkPod("systemd", "default", nil, nil)
		pod.Linux.CgroupParent = "vigil_test.slice"
		podID, err := e.runPod("vigil-systemd", pod)
		if podID != "" {
			defer e.removePod(t, podID)
		}
		log := called("vigil-systemd")
		if !strings.Contains(log, "--systemd-cgroup") {
			t.Fatalf("runc never got --systemd-cgroup (RunPodSandbox: %v); wrapper log:\n%s", err, log)
		}
		if _, serr := os.Stat("/run/systemd/system"); serr != nil {
			if err == nil || !strings.Contains(err.Error(), "systemd") {
				t.Fatalf("on a host without systemd runc should refuse a systemd-cgroup container, got: %v", err)
			}
			t.Logf("host without systemd: runc refused as expected: %v", err)
			return
		}
		if err != nil {
			t.Fatalf("RunPodSandbox with SystemdCgroup on a systemd host: %v", err)
		}
	})

	// ConfigPath and BinaryName together: containerd's CRI sends ConfigPath
	// alone and drops the rest of the table (GenerateRuntimeOptions), so
	// the wrapper is never called. This pins the limitation the docs state;
	// if it fails, containerd changed and docs/kubernetes.md must too.
	t.Run("ConfigPathDropsTheRestOfTheTable", func(t *testing.T) {
		pod := harness.HostNetworkPod("pathbin", "default", map[string]string{"app": "payments"}, nil)
		podID := e.pod(t, "vigil-path-binary", pod)
		defer e.removePod(t, podID)
		id := e.container(t, podID, pod, "api", nil)
		if got := e.policyOf(t, id); got != "payments" {
			t.Errorf("policy = %q, want payments (ConfigPath)", got)
		}
		if log := called("vigil-path-binary"); log != "" {
			t.Errorf("containerd passed BinaryName next to ConfigPath; update docs/kubernetes.md. Wrapper log:\n%s", log)
		}
	})
}
