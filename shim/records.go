package shim

import (
	"context"
	"strings"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
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
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := containersapi.NewContainersClient(g.conn).Update(ctx, &containersapi.UpdateContainerRequest{
		Container:  &containersapi.Container{ID: id, Labels: labels},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
	})
	if err != nil {
		log.G(ctx).WithError(err).Warn("vigil could not label the container record")
	}
}

// containerd limits a label's key+value to 4096 bytes.
func truncateLabel(v string) string {
	if len(v) > 3800 {
		return v[:3800] + "…"
	}
	return v
}
