//go:build unix

package heifwasm

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapMemory backs a decode's linear memory with one anonymous mapping of the cap, reserved but
// not committed (MAP_NORESERVE): it grows in place as the decoder asks (wazero's default grows a
// Go slice by copying, briefly holding old and new), only the pages the decoder touches are
// resident, and it is unmapped the moment the instance closes instead of waiting for a
// collection. Being outside the Go heap, it is not counted by GOMEMLIMIT: template.yaml's
// GOMEMLIMIT leaves MemoryLimit of the function's memory for it.
type mmapMemory struct{ buf []byte }

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if m.buf == nil || size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size]
}

func (m *mmapMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf)
		m.buf = nil
	}
}

var memoryAllocator experimental.MemoryAllocator = experimental.MemoryAllocatorFunc(
	func(_, max uint64) experimental.LinearMemory {
		if max == 0 || max > MemoryLimit {
			max = MemoryLimit
		}
		buf, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
		if err != nil {
			// Reallocate then fails, and wazero refuses to instantiate: an error, not a crash.
			return &mmapMemory{}
		}
		return &mmapMemory{buf: buf}
	})
