package harness

import "runtime"

func goarch() string { return runtime.GOARCH }
