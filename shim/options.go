package shim

import (
	"fmt"

	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	runtimeoptions "github.com/containerd/containerd/api/types/runtimeoptions/v1"
	"github.com/containerd/typeurl/v2"
	"github.com/pelletier/go-toml/v2"
	"google.golang.org/protobuf/types/known/anypb"
)

// runtimeOptions is what vigil reads from the runtime options containerd
// passes: the runc options it forwards, and where its own policy file is.
type runtimeOptions struct {
	Runc *runcoptions.Options
	// ConfigPath is vigil's policy file, when the runtime options name one.
	ConfigPath string
}

// tomlOptions is the containerd runtime table's `options` body as CRI sends
// it (ConfigBody): runc's options by their Go names plus vigil's
// VigilConfigPath. CRI sends the body only when the table has no
// ConfigPath (it then sends ConfigPath alone), so a handler that needs runc
// options (SystemdCgroup, BinaryName) names the policy file with
// VigilConfigPath instead.
type tomlOptions struct {
	VigilConfigPath string `toml:"VigilConfigPath"`
	ConfigPath      string `toml:"ConfigPath"`
	NoPivotRoot     bool   `toml:"NoPivotRoot"`
	NoNewKeyring    bool   `toml:"NoNewKeyring"`
	ShimCgroup      string `toml:"ShimCgroup"`
	IoUid           uint32 `toml:"IoUid"`
	IoGid           uint32 `toml:"IoGid"`
	BinaryName      string `toml:"BinaryName"`
	Root            string `toml:"Root"`
	SystemdCgroup   bool   `toml:"SystemdCgroup"`
	CriuImagePath   string `toml:"CriuImagePath"`
	CriuWorkPath    string `toml:"CriuWorkPath"`
	TaskAPIAddress  string `toml:"TaskApiAddress"`
	TaskAPIVersion  uint32 `toml:"TaskApiVersion"`
}

// decodeOptions translates whatever runtime options containerd sent into runc
// options plus vigil's own settings. runc's task service type-asserts its
// options to *runcoptions.Options, so anything else (CRI's
// runtimeoptions.v1.Options, `ctr --runtime-config-path`) must be translated
// before the inner Create sees it.
func decodeOptions(a typeurl.Any) (runtimeOptions, error) {
	if a == nil || len(a.GetValue()) == 0 && a.GetTypeUrl() == "" {
		return runtimeOptions{}, nil
	}
	v, err := typeurl.UnmarshalAny(a)
	if err != nil {
		return runtimeOptions{}, fmt.Errorf("runtime options of type %q: %w", a.GetTypeUrl(), err)
	}
	switch o := v.(type) {
	case *runcoptions.Options:
		return runtimeOptions{Runc: o}, nil
	case *runtimeoptions.Options:
		out := runtimeOptions{ConfigPath: o.ConfigPath}
		if o.ConfigBody != nil {
			var t tomlOptions
			if err := toml.Unmarshal(o.ConfigBody, &t); err != nil {
				return runtimeOptions{}, fmt.Errorf("runtime options body (TOML): %w", err)
			}
			if out.ConfigPath == "" {
				out.ConfigPath = firstNonEmpty(t.VigilConfigPath, t.ConfigPath)
			}
			out.Runc = &runcoptions.Options{
				NoPivotRoot: t.NoPivotRoot, NoNewKeyring: t.NoNewKeyring, ShimCgroup: t.ShimCgroup,
				IoUid: t.IoUid, IoGid: t.IoGid, BinaryName: t.BinaryName, Root: t.Root,
				SystemdCgroup: t.SystemdCgroup, CriuImagePath: t.CriuImagePath, CriuWorkPath: t.CriuWorkPath,
				TaskApiAddress: t.TaskAPIAddress, TaskApiVersion: t.TaskAPIVersion,
			}
		}
		return out, nil
	default:
		return runtimeOptions{}, fmt.Errorf("runtime options of unsupported type %T (want runc options or runtimeoptions.v1.Options)", v)
	}
}

// runcAny re-encodes the runc options for the inner service; nil stays nil.
func (o runtimeOptions) runcAny() (*anypb.Any, error) {
	if o.Runc == nil {
		return nil, nil
	}
	a, err := typeurl.MarshalAnyToProto(o.Runc)
	if err != nil {
		return nil, fmt.Errorf("encode runc options: %w", err)
	}
	return a, nil
}
