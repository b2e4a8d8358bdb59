package drivers

import (
	"testing"
)

// FuzzStatusFeed: any back-channel bytes, with any queries outstanding,
// leave the cache in a valid state and never panic.
func FuzzStatusFeed(f *testing.F) {
	f.Add([]byte{0x16, 0x12, 0x12, 0x72}, []byte{1, 2, 3, 4})
	f.Add([]byte{0x10, 0x00, 0x0c, 0x00}, []byte{})
	f.Add([]byte{0xff, 0xfe, 0x00}, []byte{5, 6, 9})
	f.Fuzz(func(t *testing.T, feed, queries []byte) {
		var c StatusCache
		for _, q := range queries {
			c.Expect(Query(q))
		}
		c.Feed(feed)
		if s := c.Get(); s.State > StateError {
			t.Fatalf("state %d", s.State)
		}
		c.mu.Lock()
		n := len(c.queue)
		c.mu.Unlock()
		if n > maxPending {
			t.Fatalf("queue %d", n)
		}
	})
}

// FuzzParseDeviceID: any 1284 ID reply parses within bounds.
func FuzzParseDeviceID(f *testing.F) {
	f.Add([]byte("\x00\x2fMFG:Virtual;MDL:POS58;CMD:ESC/POS;CLS:PRINTER;"))
	f.Add([]byte{0xff, 0xff, ':', ';'})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := DeviceIDFromWire(b)
		if len(s) > MaxDeviceID {
			t.Fatalf("kept %d bytes", len(s))
		}
		id := ParseDeviceID(s)
		if len(id) > 64 {
			t.Fatalf("%d keys", len(id))
		}
		_ = id.Model() + id.Manufacturer() + id.CommandSet()
	})
}
