package shim

import (
	"context"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigil-dev/vigil/policy"
)

func applyMAC(ctx context.Context, cfg *policy.Config, pol *policy.Policy, spec *specs.Spec, p *plan) error {
	return nil
}
