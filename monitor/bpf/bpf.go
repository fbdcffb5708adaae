//go:build 386 || amd64

package bpf

import (
	"crypto/sha256"
	"encoding/hex"
)

// ObjectBytes returns the compiled BPF ELF object embedded in the binary.
func ObjectBytes() []byte { return _VigilBytes }

// LSMObjectBytes returns the compiled ELF object of the optional LSM exec
// hook.
func LSMObjectBytes() []byte { return _VigilLsmBytes }

// ObjectHash returns the first 12 hex digits of the SHA-256 of the embedded
// objects (the main one, then the LSM one): two binaries share pinned
// programs only when their objects are byte-identical.
func ObjectHash() string {
	h := sha256.New()
	h.Write(_VigilBytes)
	h.Write(_VigilLsmBytes)
	return hex.EncodeToString(h.Sum(nil))[:12]
}
