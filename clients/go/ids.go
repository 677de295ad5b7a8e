package aetheris

import (
	"crypto/rand"
	"fmt"
)

// NewID returns a random (version 4) UUID, e.g. for SendSignal.signal_id or EventInput.event_id:
// generate it once per logical request and reuse it on every retry.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics on an unusable source)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
