// Command containerd-shim-vigil-v2 is vigil's containerd shim v2, runtime type
// io.containerd.vigil.v2. All behaviour lives in package shim.
package main

import "github.com/vigil-dev/vigil/shim"

func main() {
	shim.Run()
}
