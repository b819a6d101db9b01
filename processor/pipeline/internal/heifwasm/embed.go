package heifwasm

import (
	_ "unsafe" // for go:linkname

	// The packages are imported for the modules they embed; their decoders are never called.
	_ "github.com/gen2brain/avif"
	_ "github.com/gen2brain/heic"
)

// The modules are the packages' unexported embedded variables, pulled by name: go.mod pins both
// versions, and TestModulesPresent fails if a version renames them. (Copying the modules into this
// repository instead would commit 600 KB of binaries.)

//go:linkname heifWasm github.com/gen2brain/heic.heifWasm
var heifWasm []byte

//go:linkname avifWasm github.com/gen2brain/avif.decodeWasm
var avifWasm []byte

func heifModule() []byte { return heifWasm }
func avifModule() []byte { return avifWasm }
