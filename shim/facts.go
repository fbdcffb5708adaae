package shim

import (
	"context"
	"fmt"
	"sync"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vigil-dev/vigil/policy"
)

// Annotations CRI and nerdctl put into the OCI spec, used when containerd's
// records cannot be read.
const (
	annCRIImageName        = "io.kubernetes.cri.image-name"
	annCRIContainerType    = "io.kubernetes.cri.container-type"
	annCRISandboxID        = "io.kubernetes.cri.sandbox-id"
	annCRISandboxNamespace = "io.kubernetes.cri.sandbox-namespace"
	annCRISandboxName      = "io.kubernetes.cri.sandbox-name"
	annCRIContainerName    = "io.kubernetes.cri.container-name"
	annNerdctlName         = "nerdctl/name"
	labelPodNamespace      = "io.kubernetes.pod.namespace"
	labelPodName           = "io.kubernetes.pod.name"
	labelContainerName     = "io.kubernetes.container.name"
	labelCRIKind           = "io.cri-containerd.kind"
)

// recordReader reads containers from containerd's metadata store.
type recordReader interface {
	Get(ctx context.Context, id string) (*containersapi.Container, error)
}

// grpcRecords reads containerd's containers API over its gRPC socket.
type grpcRecords struct {
	address string

	once    sync.Once
	conn    *grpc.ClientConn
	connErr error
}

// newGRPCRecords returns a reader of containerd at address and starts
// connecting at once, in the background: the shim starts before Create
// arrives, so the first Create finds the connection up (it saves ~6 ms of
// every container's start).
func newGRPCRecords(address string) *grpcRecords {
	g := &grpcRecords{address: address}
	if conn, err := g.client(); err == nil {
		conn.Connect()
	}
	return g
}

func (g *grpcRecords) client() (*grpc.ClientConn, error) {
	g.once.Do(func() {
		g.conn, g.connErr = grpc.NewClient("unix://"+g.address, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if g.connErr != nil {
			g.connErr = fmt.Errorf("connect to containerd at %s: %w", g.address, g.connErr)
		}
	})
	return g.conn, g.connErr
}

func (g *grpcRecords) Get(ctx context.Context, id string) (*containersapi.Container, error) {
	conn, err := g.client()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := containersapi.NewContainersClient(conn).Get(ctx, &containersapi.GetContainerRequest{ID: id})
	if err != nil {
		return nil, fmt.Errorf("read container %q from containerd: %w", id, err)
	}
	return resp.Container, nil
}

// gatherFacts assembles what policy matching needs: containerd's own record
// first (image, labels, the pod's labels through the sandbox container), the
// OCI annotations as fallback and as matchable data.
func gatherFacts(ctx context.Context, rr recordReader, id string, spec *specs.Spec) (policy.Facts, []string) {
	ns, _ := namespaces.Namespace(ctx)
	f := policy.Facts{
		ContainerID:         id,
		ContainerdNamespace: ns,
		Labels:              map[string]string{},
		PodLabels:           map[string]string{},
		Annotations:         map[string]string{},
	}
	var notes []string
	if spec != nil {
		for k, v := range spec.Annotations {
			f.Annotations[k] = v
		}
	}
	a := f.Annotations
	f.Image = a[annCRIImageName]
	f.K8sNamespace = a[annCRISandboxNamespace]
	f.SandboxID = a[annCRISandboxID]
	f.IsSandbox = a[annCRIContainerType] == "sandbox"
	f.ContainerName = firstNonEmpty(a[annCRIContainerName], a[annNerdctlName])

	if rr != nil {
		rec, err := rr.Get(ctx, id)
		if err != nil {
			notes = append(notes, "containerd record unavailable, using OCI annotations: "+err.Error())
		} else {
			if rec.Image != "" {
				f.Image = rec.Image
			}
			for k, v := range rec.Labels {
				f.Labels[k] = v
			}
			if rec.Sandbox != "" && f.SandboxID == "" {
				f.SandboxID = rec.Sandbox
			}
			if rec.Labels[labelCRIKind] == "sandbox" {
				f.IsSandbox = true
			}
		}
		// A Kubernetes pod's labels live on its sandbox container's record.
		if f.SandboxID != "" && f.SandboxID != id {
			sb, err := rr.Get(ctx, f.SandboxID)
			if err != nil {
				notes = append(notes, "sandbox record unavailable: "+err.Error())
			} else {
				for k, v := range sb.Labels {
					f.PodLabels[k] = v
				}
			}
		} else if f.IsSandbox {
			for k, v := range f.Labels {
				f.PodLabels[k] = v
			}
		}
	}
	if f.K8sNamespace == "" {
		f.K8sNamespace = firstNonEmpty(f.Labels[labelPodNamespace], f.PodLabels[labelPodNamespace])
	}
	if f.ContainerName == "" {
		f.ContainerName = firstNonEmpty(f.Labels[labelContainerName], f.Labels[annNerdctlName], id)
	}
	return f, notes
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
