package shim

import (
	"bytes"
	"context"
	"io"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/manager"
	"github.com/containerd/containerd/v2/pkg/shim"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// RuntimeName is the runtime type users give containerd.
const RuntimeName = "io.containerd.vigil.v2"

// Manager returns the shim manager: upstream runc's (it starts, groups and
// stops shim processes), with Info taught vigil's runtime options.
func Manager() shim.Shim {
	return &vigilManager{Shim: manager.NewShimManager(RuntimeName)}
}

type vigilManager struct{ shim.Shim }

// Info answers containerd's runtime-info request. runc's manager only reads
// runc options; CRI sends runtimeoptions.v1.Options for a runtime that is not
// runc, so they are translated first.
func (m *vigilManager) Info(ctx context.Context, optionsR io.Reader) (*types.RuntimeInfo, error) {
	data, err := io.ReadAll(optionsR)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 {
		var a anypb.Any
		if err := proto.Unmarshal(data, &a); err == nil {
			if o, err := decodeOptions(&a); err == nil {
				data = nil
				if ra, err := o.runcAny(); err == nil && ra != nil {
					b, err := proto.Marshal(ra)
					if err != nil {
						return nil, err
					}
					data = b
				}
			}
		}
	}
	info, err := m.Shim.Info(ctx, bytes.NewReader(data))
	if info != nil {
		info.Name = RuntimeName
	}
	return info, err
}

// Run runs the shim; it is the whole of the shim binary's main.
func Run() {
	shim.RunShim(context.Background(), Manager())
}
