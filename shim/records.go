package shim

import (
	"context"
	"strings"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/log"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/vigil-dev/vigil/profiles/harden"
)

// recordLabels writes what vigil applied onto containerd's record of the
// container as vigil.dev/ labels, so `ctr c info`, `nerdctl inspect` and
// `crictl inspect` show it. Failure is logged, never fatal: the spec
// annotations carry the same facts.
func (s *service) recordLabels(ctx context.Context, id string, p *plan) {
	g, ok := s.records.(*grpcRecords)
	if !ok || g.conn == nil {
		return
	}
	labels := map[string]string{}
	var paths []string
	for k, v := range p.applied {
		labels[k] = truncateLabel(v)
		paths = append(paths, "labels."+k)
	}
	if len(p.notes) > 0 {
		labels[harden.AnnNotes] = truncateLabel(strings.Join(p.notes, "; "))
		paths = append(paths, "labels."+harden.AnnNotes)
	}
	req := &containersapi.UpdateContainerRequest{
		Container:  &containersapi.Container{ID: id, Labels: labels},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
	}
	// containerd commits the update to its database (an fsync): it need
	// not hold up Create. Shutdown waits for it.
	ctx = context.WithoutCancel(ctx)
	s.pending.Add(1)
	go func() {
		defer s.pending.Done()
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := containersapi.NewContainersClient(g.conn).Update(ctx, req)
		switch {
		case errdefs.IsNotFound(errgrpc.ToNative(err)):
			log.G(ctx).Debug("vigil did not label the container record: the container is gone")
		case err != nil:
			log.G(ctx).WithError(err).Warn("vigil could not label the container record")
		}
	}()
}

// containerd limits a label's key+value to 4096 bytes.
func truncateLabel(v string) string {
	if len(v) > 3800 {
		return v[:3800] + "…"
	}
	return v
}
