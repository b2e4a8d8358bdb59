package escpos

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAdversarialLinear: inputs built to stress each variable-length rule
// and the decoder scan in time roughly linear in their size. The budget
// is generous: it catches quadratic behaviour, not slow machines.
func TestAdversarialLinear(t *testing.T) {
	const size = 1 << 18
	rng := rand.New(rand.NewPCG(7, 7))
	random := make([]byte, size)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	inputs := map[string][]byte{
		"random":            random,
		"all ESC":           bytes.Repeat([]byte{0x1B}, size),
		"ESC & walks":       bytes.Repeat([]byte("\x1b&\x03\x20\x7e"), size/5),
		"GS k without NUL":  bytes.Repeat([]byte("\x1dk\x04"+string(bytes.Repeat([]byte("1"), 250))), size/253),
		"high bytes":        bytes.Repeat([]byte{0xB0, 0xA1, 0xC3, 0xA9, 0xEF, 0xBF, 0xBD, 0x81, 0x30}, size/9),
		"one char per line": bytes.Repeat([]byte{0xD6, 0xD0, 0x0A}, size/3),
		"truncated at end":  append(append([]byte("\x1d8L\xff\xff\x3f\x00"), bytes.Repeat([]byte("\x1b@"), 2048)...), bytes.Repeat([]byte{0}, size)...),
		"tabs":              bytes.Repeat([]byte("a\t\x1b$\x10\x00"), size/6),
		"cuts":              bytes.Repeat([]byte("\x1dV\x00"), size/3),
		"ESC D":             bytes.Repeat([]byte("\x1bD\x01\x02\x03"), size/5),
	}
	for name, in := range inputs {
		start := time.Now()
		j := Scan(in, Options{})
		checkJob(t, name, in, j)
		t.Logf("%s: %v, %d receipts, %d warnings", name, time.Since(start), len(j.Receipts), len(j.Warnings))
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: Scan of %d bytes took %v", name, len(in), d)
		}
		start = time.Now()
		streamTokens(in, func() int { return 4096 })
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: streaming Split took %v", name, d)
		}
	}
}
