package drivers

import (
	"sync"
	"testing"
	"time"
)

func TestStatusCacheZeroValue(t *testing.T) {
	var c StatusCache
	if s := c.Get(); s.State != StateUnknown || !s.Since.IsZero() {
		t.Fatalf("zero cache: %+v", s)
	}
	if _, ok := c.Reply(QueryPrinter); ok {
		t.Fatal("reply before any feed")
	}
}

func TestStatusCacheReplies(t *testing.T) {
	tests := []struct {
		name  string
		q     []Query
		feed  []byte
		state PrinterState
		near  bool
	}{
		{"online", []Query{QueryPrinter}, []byte{0x16}, StateOnline, false},
		{"offline", []Query{QueryPrinter}, []byte{0x1e}, StateOffline, false},
		{"paper end via offline cause", []Query{QueryPrinter, QueryOffline}, []byte{0x1e, 0x32}, StatePaperOut, false},
		{"cover open", []Query{QueryOffline}, []byte{0x16}, StateCoverOpen, false},
		{"cutter error", []Query{QueryError}, []byte{0x1a}, StateError, false},
		{"paper near end", []Query{QueryPaper}, []byte{0x1e}, StateOnline, true},
		{"paper end sensor", []Query{QueryPaper}, []byte{0x72}, StatePaperOut, false},
		{"GS r 1 paper end", []Query{QueryGSPaper}, []byte{0x0c}, StatePaperOut, false},
		{"GS r 1 fine", []Query{QueryGSPaper}, []byte{0x00}, StateOnline, false},
		// 0xff is not a valid DLE EOT reply: ignored, the query stays pending
		// and the next valid byte answers it.
		{"garbage before reply", []Query{QueryPrinter}, []byte{0xff, 0x80, 0x16}, StateOnline, false},
		{"ASB paper end", nil, []byte{0x10, 0x00, 0x0c, 0x00}, StatePaperOut, false},
		{"ASB cover open", nil, []byte{0x30, 0x00, 0x00, 0x00}, StateCoverOpen, false},
		{"ASB broken then fine", nil, []byte{0x10, 0xff, 0x14, 0x00, 0x00, 0x00}, StateOnline, false},
		{"only garbage", nil, []byte{0xff, 0xfe, 0x41, 0x42}, StateUnknown, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c StatusCache
			for _, q := range tc.q {
				c.Expect(q)
			}
			c.Feed(tc.feed)
			s := c.Get()
			if s.State != tc.state || s.PaperNearEnd != tc.near {
				t.Fatalf("got %v near=%v (%q), want %v near=%v", s.State, s.PaperNearEnd, s.Detail, tc.state, tc.near)
			}
		})
	}
}

func TestStatusCacheReplyByteKept(t *testing.T) {
	var c StatusCache
	c.Expect(QueryPrinter)
	c.Expect(QueryGSPaper)
	c.Feed([]byte{0x16, 0x00})
	if b, ok := c.Reply(QueryPrinter); !ok || b != 0x16 {
		t.Fatalf("DLE EOT 1 reply %#x %v", b, ok)
	}
	if b, ok := c.Reply(QueryGSPaper); !ok || b != 0x00 {
		t.Fatalf("GS r 1 reply %#x %v", b, ok)
	}
	if _, ok := c.Reply(QueryPaper); ok {
		t.Fatal("DLE EOT 4 never answered")
	}
}

func TestStatusCacheSetKeepsSince(t *testing.T) {
	var c StatusCache
	c.Set(Status{State: StateOffline, Detail: "a"})
	first := c.Get().Since
	if first.IsZero() {
		t.Fatal("Since not set")
	}
	c.Set(Status{State: StateOffline, Detail: "b"})
	if got := c.Get(); !got.Since.Equal(first) || got.Detail != "b" {
		t.Fatalf("same state should keep Since: %+v", got)
	}
	c.Set(Status{State: StateOnline})
	if got := c.Get(); got.Since.Before(first) {
		t.Fatalf("Since went back: %+v", got)
	}
}

func TestStatusCacheChanged(t *testing.T) {
	var c StatusCache
	ch := c.Changed()
	select {
	case <-ch:
		t.Fatal("closed before any change")
	default:
	}
	c.Set(Status{State: StateOnline})
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("not notified")
	}
	ch = c.Changed()
	c.Set(Status{State: StateOnline}) // no change
	select {
	case <-ch:
		t.Fatal("notified without a change")
	default:
	}
}

func TestStatusCacheFloodIsBounded(t *testing.T) {
	var c StatusCache
	junk := make([]byte, 1<<20)
	for i := range junk {
		junk[i] = byte(i*7 + 3)
	}
	for i := 0; i < 100; i++ {
		c.Expect(QueryPrinter)
	}
	c.Feed(junk)
	c.mu.Lock()
	n := len(c.queue)
	c.mu.Unlock()
	if n > maxPending {
		t.Fatalf("pending queue grew to %d", n)
	}
}

func TestStatusCacheConcurrent(t *testing.T) {
	var c StatusCache
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				c.Expect(QueryPrinter)
				c.Feed([]byte{0x16})
				c.Set(Status{State: StateOnline})
				_ = c.Get()
				_ = c.Changed()
			}
		}()
	}
	wg.Wait()
}

func TestReplyForRoundTrip(t *testing.T) {
	for _, st := range []Status{
		{State: StateOnline},
		{State: StatePaperOut},
		{State: StateCoverOpen},
		{State: StateOnline, PaperNearEnd: true},
	} {
		var c StatusCache
		for _, q := range []Query{QueryPrinter, QueryOffline, QueryError, QueryPaper} {
			c.Expect(q)
			c.Feed([]byte{st.ReplyFor(q)})
		}
		got := c.Get()
		if got.State != st.State || got.PaperNearEnd != st.PaperNearEnd {
			t.Errorf("%+v -> replies -> %+v", st, got)
		}
	}
}

func TestQueryOf(t *testing.T) {
	for q := QueryPrinter; q <= QueryGSDrawer; q++ {
		if got := QueryOf(q.Bytes()); got != q {
			t.Errorf("QueryOf(%x) = %v, want %v", q.Bytes(), got, q)
		}
	}
	if QueryOf([]byte{0x10, 0x04, 9}) != QueryNone || QueryOf([]byte{0x1d, 0x72, '1'}) != QueryGSPaper {
		t.Fatal("QueryOf edge cases")
	}
}

func TestParseDeviceID(t *testing.T) {
	id := ParseDeviceID("MFG:EPSON;CMD:ESC/POS;MDL:TM-T88V;CLS:PRINTER;DES:TM-T88V;")
	if id.Manufacturer() != "EPSON" || id.Model() != "TM-T88V" || id.CommandSet() != "ESC/POS" {
		t.Fatalf("%v", id)
	}
	long := ParseDeviceID("MANUFACTURER:Xprinter;MODEL:XP-58;COMMAND SET:ESC/POS")
	if long.Manufacturer() != "Xprinter" || long.Model() != "XP-58" {
		t.Fatalf("%v", long)
	}
	// Huge or garbage IDs are bounded.
	huge := make([]byte, 1<<20)
	for i := range huge {
		huge[i] = "K:v;"[i%4]
	}
	if got := ParseDeviceID(string(huge)); len(got) > 64 {
		t.Fatalf("kept %d keys", len(got))
	}
	if DeviceIDFromWire([]byte{0xff, 0xff, 'M', 'F', 'G', ':', 'x'}) != "MFG:x" {
		t.Fatal("clamped length")
	}
	if DeviceIDFromWire([]byte{0x00, 0x07, 'M', 'F', 'G', ':', 'x', 'y', 'z'}) != "MFG:x" {
		t.Fatal("exact length")
	}
	if DeviceIDFromWire(nil) != "" || DeviceIDFromWire([]byte{0, 1}) != "" {
		t.Fatal("short")
	}
}
