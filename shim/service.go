package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/containerd/continuity"
	"os"
	"path/filepath"
	"sync"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/task"
	"github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/containerd/v2/pkg/shutdown"
	"github.com/containerd/containerd/v2/plugins"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/log"
	"github.com/containerd/plugin"
	"github.com/containerd/plugin/registry"
	"github.com/containerd/ttrpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/emptypb"
)

func init() {
	// vigil's own task plugin. It must not be registered next to upstream's
	// task/plugin package: two task services under one name panic.
	registry.Register(&plugin.Registration{
		Type:     plugins.TTRPCPlugin,
		ID:       "task",
		Requires: []plugin.Type{plugins.EventPlugin, plugins.InternalPlugin},
		InitFn: func(ic *plugin.InitContext) (any, error) {
			pp, err := ic.GetByID(plugins.EventPlugin, "publisher")
			if err != nil {
				return nil, err
			}
			ss, err := ic.GetByID(plugins.InternalPlugin, "shutdown")
			if err != nil {
				return nil, err
			}
			inner, err := task.NewTaskService(ic.Context, pp.(shim.Publisher), ss.(shutdown.Service))
			if err != nil {
				return nil, err
			}
			return newService(inner, pp.(shim.Publisher), newGRPCRecords(ic.Properties[plugins.PropertyGRPCAddress])), nil
		},
	})
}

// service wraps the runc task service. Every method it does not override is
// the inner service's own.
type service struct {
	taskapi.TTRPCTaskService
	inner     taskapi.TTRPCTaskService
	publisher shim.Publisher
	records   recordReader

	mu         sync.Mutex
	containers map[string]*container
	sensors    *sensors // node monitor and file sensor, opened on first use
	// pending counts unregistrations still running.
	pending sync.WaitGroup
}

// waitTimeout waits for wg, at most d.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// container is what the shim keeps about one container it hardened.
type container struct {
	id     string
	bundle string
	plan   *plan
	pid    uint32
	cgid   uint64
	// killed records why vigil killed the task, if it did.
	killed string
}

func newService(inner taskapi.TTRPCTaskService, pub shim.Publisher, rr recordReader) *service {
	return &service{TTRPCTaskService: inner, inner: inner, publisher: pub, records: rr, containers: map[string]*container{}}
}

// RegisterTTRPC registers the wrapper, not the inner service.
func (s *service) RegisterTTRPC(server *ttrpc.Server) error {
	taskapi.RegisterTTRPCTaskService(server, s)
	return nil
}

// Create decides and applies the container's policy before runc sees its
// spec, then registers it with the monitor before Start can run it.
func (s *service) Create(ctx context.Context, r *taskapi.CreateTaskRequest) (*taskapi.CreateTaskResponse, error) {
	ctx = log.WithLogger(ctx, log.G(ctx).WithField("container", r.ID))
	t0 := time.Now()
	opts, err := decodeOptions(r.Options)
	if err != nil {
		return nil, errgrpc.ToGRPC(fmt.Errorf("%w: %v", errdefs.ErrInvalidArgument, err))
	}
	specPath := filepath.Join(r.Bundle, "config.json")
	spec, err := readSpec(specPath)
	if err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	tFacts := time.Now()
	facts, notes := gatherFacts(ctx, s.records, r.ID, spec)
	tPolicy := time.Now()
	p, err := decide(ctx, facts, opts.ConfigPath, spec)
	tWrite := time.Now()
	if err != nil {
		log.G(ctx).WithError(err).Error("vigil refused the container")
		return nil, errgrpc.ToGRPC(err)
	}
	p.notes = append(notes, p.notes...)
	p.log(ctx)
	if err := writeSpecAtomic(specPath, spec); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	if r.Options, err = opts.runcAny(); err != nil {
		return nil, errgrpc.ToGRPC(err)
	}
	pr := s.prepare(p)
	t1 := time.Now()
	resp, err := s.inner.Create(ctx, r)
	if err != nil {
		return nil, err
	}
	t2 := time.Now()
	c := &container{id: r.ID, bundle: r.Bundle, plan: p, pid: resp.Pid}
	err = s.watch(ctx, c, spec, pr)
	log.G(ctx).WithFields(log.Fields{
		"decide": t1.Sub(t0), "runc": t2.Sub(t1), "watch": time.Since(t2),
		// decide's parts: reading containerd's records, choosing and
		// resolving the policy, writing config.json
		"facts": tPolicy.Sub(tFacts), "policy": tWrite.Sub(tPolicy), "write": t1.Sub(tWrite),
	}).Debug("vigil create")
	if err != nil {
		// The policy asks for a watched container and it cannot be watched:
		// take back what runc created and refuse.
		s.inner.Kill(ctx, &taskapi.KillRequest{ID: r.ID, Signal: 9, All: true})
		s.inner.Delete(ctx, &taskapi.DeleteRequest{ID: r.ID})
		log.G(ctx).WithError(err).Error("vigil refused the container")
		return nil, errgrpc.ToGRPC(err)
	}
	s.mu.Lock()
	s.containers[r.ID] = c
	s.mu.Unlock()
	s.recordLabels(ctx, r.ID, p)
	return resp, nil
}

// Delete unregisters the container from the monitor before the inner Delete.
func (s *service) Delete(ctx context.Context, r *taskapi.DeleteRequest) (*taskapi.DeleteResponse, error) {
	if r.ExecID == "" {
		s.mu.Lock()
		c := s.containers[r.ID]
		delete(s.containers, r.ID)
		s.mu.Unlock()
		if c != nil {
			// Unregistering waits for an RCU grace period in the kernel;
			// cgroup ids are never reused, so it need not hold up Delete.
			// Shutdown waits for it.
			s.pending.Add(1)
			go func() {
				defer s.pending.Done()
				s.unwatch(context.WithoutCancel(ctx), c)
			}()
		}
	}
	return s.inner.Delete(ctx, r)
}

// Shutdown closes vigil's sensors before the inner service exits the shim.
func (s *service) Shutdown(ctx context.Context, r *taskapi.ShutdownRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	n := len(s.containers)
	s.mu.Unlock()
	if n == 0 {
		t0 := time.Now()
		waitTimeout(&s.pending, 5*time.Second)
		t1 := time.Now()
		s.closeSensors()
		log.G(ctx).WithFields(log.Fields{"unwatch": t1.Sub(t0), "close": time.Since(t1)}).Debug("vigil shutdown")
	}
	return s.inner.Shutdown(ctx, r)
}

func readSpec(path string) (*specs.Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read OCI spec: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("%w: OCI spec %s: %v", errdefs.ErrInvalidArgument, path, err)
	}
	return &spec, nil
}

// writeSpecAtomic replaces config.json with the hardened spec: a reader sees
// the old file or the new one, never a half-written one.
func writeSpecAtomic(path string, spec *specs.Spec) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode OCI spec: %w", err)
	}
	if err := continuity.AtomicWriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write OCI spec: %w", err)
	}
	return nil
}
