package escpos

import "sort"

// Insertion is one block to insert into a job: Block goes in before the
// byte at Offset (Offset == len(data) appends it).
type Insertion struct {
	Offset int
	Block  []byte
}

// Splice returns data with each insertion's block at its offset and nothing
// else changed (DESIGN 2.5): removing the blocks from the result gives data
// back byte for byte. Insertions are applied in offset order (stable for
// equal offsets); offsets outside [0, len(data)] are clamped to the nearest
// end, so a bad offset can move a block but never corrupt the job. data is
// not modified.
func Splice(data []byte, ins []Insertion) []byte {
	if len(ins) == 0 {
		return append([]byte(nil), data...)
	}
	sorted := append([]Insertion(nil), ins...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	n := len(data)
	for _, in := range sorted {
		n += len(in.Block)
	}
	out := make([]byte, 0, n)
	prev := 0
	for _, in := range sorted {
		off := min(max(in.Offset, 0), len(data))
		out = append(out, data[prev:off]...)
		out = append(out, in.Block...)
		prev = off
	}
	return append(out, data[prev:]...)
}
