//go:build 386 || amd64

package bpf

import (
	"crypto/sha256"
	"encoding/hex"
)

// ObjectBytes returns the compiled BPF ELF object embedded in the binary.
func ObjectBytes() []byte { return _VigilBytes }

// ObjectHash returns the first 12 hex digits of the SHA-256 of the embedded
// object: two binaries share pinned programs only when their objects are
// byte-identical.
func ObjectHash() string {
	sum := sha256.Sum256(_VigilBytes)
	return hex.EncodeToString(sum[:])[:12]
}
