package escpos

import "encoding/binary"

// This file is the tokenizer: the command table of escpos.md §3–4 as code.
// A token is a view (offset, length) into the caller's bytes; nothing is
// copied and nothing is re-serialised.

// Kind is the coarse class of a token.
type Kind uint8

const (
	// KindText is a run of bytes >= 0x20 (ASCII, code-page glyphs or
	// multi-byte characters); command prefixes are all below 0x20, so a
	// prefix always ends a text run.
	KindText Kind = iota
	// KindCtrl is one byte below 0x20 that is not a command prefix (LF, CR,
	// HT, FF, CAN, NUL, …) or a lone DLE not followed by 04/05/14.
	KindCtrl
	// KindCmd is an ESC, GS, FS or DLE command with its parameters.
	KindCmd
)

func (k Kind) String() string {
	switch k {
	case KindText:
		return "text"
	case KindCtrl:
		return "ctrl"
	case KindCmd:
		return "cmd"
	}
	return "kind?"
}

// Op classifies a token by what it does to the printed result.
type Op uint16

const (
	OpNone         Op = iota // text, or an ignored control byte (NUL, BEL, lone DLE …)
	OpLF                     // 0A
	OpCR                     // 0D
	OpHT                     // 09
	OpFF                     // 0C
	OpCAN                    // 18
	OpFeed                   // ESC d n, ESC J n (print and feed)
	OpInit                   // ESC @
	OpAlign                  // ESC a n
	OpMode                   // ESC ! n
	OpSize                   // GS ! n
	OpBold                   // ESC E n, ESC G n
	OpUnderline              // ESC - n
	OpReverse                // GS B n
	OpCodePage               // ESC t n
	OpChineseOn              // FS &
	OpChineseOff             // FS .
	OpEncoding               // FS ( C fn 48 (character encoding: 1 single-byte, 2 UTF-8)
	OpFont                   // ESC M n
	OpLineSpacing            // ESC 2, ESC 3 n
	OpColumn                 // ESC $ nL nH, ESC \ nL nH (horizontal position: a column break)
	OpPageMode               // ESC L
	OpStandardMode           // ESC S
	OpCut                    // GS V (all forms), ESC i, ESC m
	OpRaster                 // GS v 0, ESC *, GS ( L / GS 8 L, GS Q 0, GS *
	OpNVImage                // FS p, GS ( L fn 69 (print a logo stored in the printer)
	OpBarcode                // GS k (both forms)
	OpQR                     // GS ( k cn=49
	OpSymbol                 // GS ( k with another cn (PDF417, DataMatrix …)
	OpDrawer                 // ESC p, DLE DC4 fn 1
	OpStatusQuery            // DLE EOT, GS r, GS I, GS a, GS ( H, DLE DC4 fn 7/8: the printer answers
	OpRealtime               // DLE ENQ and the other DLE real-time commands
	OpUnknown                // a prefix and one byte not in the table, skipped as 2 bytes
	OpOther                  // a known command that changes nothing the analyser tracks
	OpBlank                  // a text run of spaces only
)

var opNames = [...]string{
	OpNone: "none", OpLF: "LF", OpCR: "CR", OpHT: "HT", OpFF: "FF", OpCAN: "CAN",
	OpFeed: "feed", OpInit: "init", OpAlign: "align", OpMode: "mode", OpSize: "size",
	OpBold: "bold", OpUnderline: "underline", OpReverse: "reverse", OpCodePage: "codepage",
	OpChineseOn: "chinese-on", OpChineseOff: "chinese-off", OpEncoding: "encoding",
	OpFont: "font", OpLineSpacing: "line-spacing", OpColumn: "column", OpPageMode: "page-mode",
	OpStandardMode: "standard-mode", OpCut: "cut", OpRaster: "raster", OpNVImage: "nv-image",
	OpBarcode: "barcode", OpQR: "qr", OpSymbol: "symbol", OpDrawer: "drawer",
	OpStatusQuery: "status-query", OpRealtime: "realtime", OpUnknown: "unknown",
	OpOther: "other", OpBlank: "blank",
}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op?"
}

// Token is one element of a job: a view into the original bytes.
type Token struct {
	Off, Len int  // position in the buffer given to Split (Off is 0 there; Scan reports job offsets)
	Kind     Kind // text, control byte or command
	Op       Op   // what it does
	Trunc    bool // the command's declared length ran past the data (or past MaxCommandLen)
}

// IsTail reports whether t may sit between a receipt's last content and
// its cut without changing what is printed: feeds, pure state setters,
// ignored control bytes and whitespace-only text. A block spliced before
// such a tail is still carried past the cutter by the original feeds.
func (t Token) IsTail() bool { return isTail(t.Kind, t.Op, t.Trunc) }

// isTail is IsTail on the token's fields (the scan loop's hot path copies
// no Token).
func isTail(kind Kind, op Op, trunc bool) bool {
	switch kind {
	case KindText:
		return op == OpBlank
	case KindCtrl:
		return op == OpLF || op == OpCR || op == OpNone
	case KindCmd:
		if trunc {
			return false
		}
		switch op {
		case OpFeed, OpAlign, OpMode, OpSize, OpBold, OpUnderline, OpReverse:
			return true
		}
	}
	return false
}

// Command prefixes.
const (
	dle = 0x10
	esc = 0x1B
	fs  = 0x1C
	gs  = 0x1D
)

// MaxCommandLen caps a declared command length. A longer declaration is
// taken as corrupt: Split returns the command's fixed header as a Trunc
// token (so a streaming caller never waits for it) and the bytes that
// follow are tokenized as they come.
const MaxCommandLen = 4 << 20

// Split returns the first token at the start of b, in the manner of
// bufio.SplitFunc: t.Off is 0 and n == t.Len. When b holds only the start
// of a command and atEOF is false, n is 0: the caller must supply more
// bytes. With atEOF and len(b) > 0, n > 0 always: a command cut short by
// the end of the data is one token with Trunc set. Text runs may be
// returned in several pieces when atEOF is false. Split does not allocate.
func Split(b []byte, atEOF bool) (n int, t Token) {
	if len(b) == 0 {
		return 0, Token{}
	}
	c := b[0]
	if c >= 0x20 {
		i := textEnd(b)
		if isBlank(b[:i]) {
			return i, Token{Len: i, Kind: KindText, Op: OpBlank}
		}
		return i, Token{Len: i, Kind: KindText}
	}
	switch c {
	case esc, gs, fs, dle:
	default:
		return 1, Token{Len: 1, Kind: KindCtrl, Op: ctrlOp(c)}
	}
	l, op, st := command(b)
	switch st {
	case cmdOK:
		if l > len(b) {
			if !atEOF {
				return 0, Token{}
			}
			return len(b), Token{Len: len(b), Kind: KindCmd, Op: op, Trunc: true}
		}
		return l, Token{Len: l, Kind: KindCmd, Op: op}
	case cmdNeedMore:
		if !atEOF {
			return 0, Token{}
		}
		if c == dle && len(b) == 1 {
			return 1, Token{Len: 1, Kind: KindCtrl}
		}
		return len(b), Token{Len: len(b), Kind: KindCmd, Op: op, Trunc: true}
	case cmdData:
		return 1, Token{Len: 1, Kind: KindCtrl}
	default: // cmdCorrupt: the header alone, flagged
		if l > len(b) {
			l = len(b)
		}
		return l, Token{Len: l, Kind: KindCmd, Op: op, Trunc: true}
	}
}

// textEnd returns the length of the run of bytes >= 0x20 at the start of
// b (b[0] is one), eight bytes at a time.
func textEnd(b []byte) int {
	i := 1
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// A byte below 0x20 sets its high bit in (x - 0x20…) & ^x.
		if (x-0x2020202020202020)&^x&0x8080808080808080 != 0 {
			break
		}
	}
	for i < len(b) && b[i] >= 0x20 {
		i++
	}
	return i
}

// isBlank reports whether a text run is spaces only.
func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' {
			return false
		}
	}
	return true
}

func ctrlOp(c byte) Op {
	switch c {
	case 0x0A:
		return OpLF
	case 0x0D:
		return OpCR
	case 0x09:
		return OpHT
	case 0x0C:
		return OpFF
	case 0x18:
		return OpCAN
	}
	return OpNone
}

type cmdStatus uint8

const (
	cmdOK       cmdStatus = iota // length known (it may exceed len(b))
	cmdNeedMore                  // the bytes that give the length are not all there
	cmdData                      // a lone DLE: one data byte
	cmdCorrupt                   // the declared length exceeds MaxCommandLen; length = header
)

// le returns the little-endian value of b[i:i+n], with ok false when b
// is too short.
func le(b []byte, i, n int) (v int, ok bool) {
	if i+n > len(b) {
		return 0, false
	}
	for k := n - 1; k >= 0; k-- {
		v = v<<8 | int(b[i+k])
	}
	return v, true
}

// sized checks a header of h bytes followed by body bytes.
func sized(b []byte, h, body int, op Op) (int, Op, cmdStatus) {
	if body > MaxCommandLen {
		return h, op, cmdCorrupt
	}
	return h + body, op, cmdOK
}

// command measures the command at b[0] (a prefix byte).
func command(b []byte) (int, Op, cmdStatus) {
	if len(b) < 2 {
		return 0, OpUnknown, cmdNeedMore
	}
	switch b[0] {
	case esc:
		return escCommand(b)
	case gs:
		return gsCommand(b)
	case fs:
		return fsCommand(b)
	default:
		return dleCommand(b)
	}
}

// fixed answers a fixed-length command.
func fixed(n int, op Op) (int, Op, cmdStatus) { return n, op, cmdOK }

// escCommand: ESC (1B) commands.
func escCommand(b []byte) (int, Op, cmdStatus) {
	switch b[1] {
	case 0x40: // ESC @
		return fixed(2, OpInit)
	case 0x0C, 0x3C, 0x76, 0x34, 0x35, 0x0E, 0x14: // ESC FF, ESC <, ESC v, clone ESC 4/5, ESC SO/DC4
		if b[1] == 0x76 {
			return fixed(2, OpStatusQuery)
		}
		return fixed(2, OpOther)
	case 0x32: // ESC 2
		return fixed(2, OpLineSpacing)
	case 0x4C: // ESC L
		return fixed(2, OpPageMode)
	case 0x53: // ESC S
		return fixed(2, OpStandardMode)
	case 0x69, 0x6D: // ESC i, ESC m
		return fixed(2, OpCut)
	case 0x33: // ESC 3 n
		return fixed(3, OpLineSpacing)
	case 0x21:
		return fixed(3, OpMode)
	case 0x2D:
		return fixed(3, OpUnderline)
	case 0x45, 0x47:
		return fixed(3, OpBold)
	case 0x4A, 0x64: // ESC J n, ESC d n
		return fixed(3, OpFeed)
	case 0x4D:
		return fixed(3, OpFont)
	case 0x61:
		return fixed(3, OpAlign)
	case 0x74:
		return fixed(3, OpCodePage)
	case 0x75:
		return fixed(3, OpStatusQuery)
	case 0x20, 0x25, 0x3D, 0x3F, 0x4B, 0x52, 0x54, 0x55, 0x56, 0x65, 0x72, 0x7B:
		return fixed(3, OpOther)
	case 0x24, 0x5C: // ESC $ nL nH, ESC \ nL nH
		return fixed(4, OpColumn)
	case 0x63, 0x66: // ESC c x n, ESC f m n
		return fixed(4, OpOther)
	case 0x70: // ESC p m t1 t2
		return fixed(5, OpDrawer)
	case 0x57: // ESC W xL xH yL yH dxL dxH dyL dyH
		return fixed(10, OpOther)
	case 0x2A: // ESC * m nL nH d…
		if len(b) < 5 {
			return 0, OpRaster, cmdNeedMore
		}
		k := int(b[3]) | int(b[4])<<8
		switch b[2] {
		case 0, 1:
			return sized(b, 5, k, OpRaster)
		case 32, 33:
			return sized(b, 5, 3*k, OpRaster)
		}
		return fixed(2, OpUnknown) // Star "ESC * r" raster and other non-Epson forms
	case 0x26: // ESC & y c1 c2 [x d1…d(y·x)]×(c2−c1+1)
		return escAmp(b)
	case 0x44: // ESC D n1 … NUL
		return escD(b)
	case 0x28: // ESC ( fn pL pH …
		p, ok := le(b, 3, 2)
		if !ok {
			return 0, OpOther, cmdNeedMore
		}
		return sized(b, 5, p, OpOther)
	case 0x5A: // ESC Z m n k dL dH d… (non-Epson 2-D code)
		p, ok := le(b, 5, 2)
		if !ok {
			return 0, OpSymbol, cmdNeedMore
		}
		return sized(b, 7, p, OpSymbol)
	}
	return fixed(2, OpUnknown)
}

// escAmp walks ESC & y c1 c2 followed by one [x d(y·x)] block per character.
func escAmp(b []byte) (int, Op, cmdStatus) {
	if len(b) < 5 {
		return 0, OpOther, cmdNeedMore
	}
	y, c1, c2 := int(b[2]), int(b[3]), int(b[4])
	i := 5
	for c := c1; c <= c2; c++ {
		if i >= len(b) {
			return 0, OpOther, cmdNeedMore
		}
		i += 1 + y*int(b[i])
		if i > MaxCommandLen {
			return 5, OpOther, cmdCorrupt
		}
	}
	return i, OpOther, cmdOK
}

// escD measures ESC D: tab positions end at NUL, or before a value that
// does not ascend, and there are at most 32 of them.
func escD(b []byte) (int, Op, cmdStatus) {
	prev := -1
	for i := 2; ; i++ {
		if i >= len(b) {
			return 0, OpOther, cmdNeedMore
		}
		v := int(b[i])
		if v == 0 {
			return i + 1, OpOther, cmdOK
		}
		if v <= prev || i-2 >= 32 {
			return i, OpOther, cmdOK
		}
		prev = v
	}
}

// gsCommand: GS (1D) commands.
func gsCommand(b []byte) (int, Op, cmdStatus) {
	switch b[1] {
	case 0x21:
		return fixed(3, OpSize)
	case 0x42:
		return fixed(3, OpReverse)
	case 0x3A:
		return fixed(2, OpOther)
	case 0x2F, 0x48, 0x66, 0x68, 0x77, 0x54, 0x62, 0x7C, 0x5A:
		if b[1] == 0x2F { // GS / m: print downloaded bit image
			return fixed(3, OpRaster)
		}
		return fixed(3, OpOther)
	case 0x49, 0x61, 0x72, 0x6A: // GS I, GS a, GS r, GS j: the printer answers
		return fixed(3, OpStatusQuery)
	case 0x24, 0x4C, 0x57, 0x50, 0x5C:
		return fixed(4, OpOther)
	case 0x5E, 0x7A:
		return fixed(5, OpOther)
	case 0x67: // GS g 0/2 m nL nH
		if len(b) < 3 {
			return 0, OpOther, cmdNeedMore
		}
		if b[2] == 0x32 {
			return fixed(6, OpStatusQuery)
		}
		return fixed(6, OpOther)
	case 0x56: // GS V m [n]
		if len(b) < 3 {
			return 0, OpCut, cmdNeedMore
		}
		switch b[2] {
		case 0x41, 0x42, 0x61, 0x62, 0x67, 0x68:
			return fixed(4, OpCut)
		}
		return fixed(3, OpCut)
	case 0x28: // GS ( fn pL pH …
		return gsParen(b)
	case 0x38: // GS 8 L / GS 8 A: 4-byte length
		if len(b) < 7 {
			return 0, OpRaster, cmdNeedMore
		}
		p := int64(b[3]) | int64(b[4])<<8 | int64(b[5])<<16 | int64(b[6])<<24
		op := OpRaster
		if b[2] == 0x4C && len(b) > 8 && b[8] == 69 {
			op = OpNVImage
		}
		if p > MaxCommandLen {
			return 7, op, cmdCorrupt
		}
		if b[2] == 0x4C && len(b) <= 8 && p >= 2 {
			return 0, op, cmdNeedMore // the function byte decides the op
		}
		return sized(b, 7, int(p), op)
	case 0x76, 0x51: // GS v 0 / GS Q 0: m xL xH yL yH d…, x·y data bytes
		if len(b) < 3 {
			return 0, OpRaster, cmdNeedMore
		}
		if b[2] != 0x30 {
			return fixed(2, OpUnknown)
		}
		if len(b) < 8 {
			return 0, OpRaster, cmdNeedMore
		}
		x := int(b[4]) | int(b[5])<<8
		y := int(b[6]) | int(b[7])<<8
		return sized(b, 8, x*y, OpRaster)
	case 0x2A: // GS * x y d…
		if len(b) < 4 {
			return 0, OpRaster, cmdNeedMore
		}
		return sized(b, 4, int(b[2])*int(b[3])*8, OpRaster)
	case 0x6B: // GS k m …
		if len(b) < 3 {
			return 0, OpBarcode, cmdNeedMore
		}
		m := b[2]
		if m <= 6 {
			for i := 3; i < len(b); i++ {
				if b[i] == 0 {
					return i + 1, OpBarcode, cmdOK
				}
				if i-3 > 255 {
					// No terminator within any barcode's capacity:
					// the barcode is corrupt; keep its header only.
					return 3, OpBarcode, cmdCorrupt
				}
			}
			return 0, OpBarcode, cmdNeedMore
		}
		if len(b) < 4 {
			return 0, OpBarcode, cmdNeedMore
		}
		return fixed(4+int(b[3]), OpBarcode)
	case 0x43: // GS C: counter
		return gsC(b)
	case 0x44: // GS D 0 fn …BMP…
		return gsD(b)
	}
	return fixed(2, OpUnknown)
}

// gsParen measures GS ( fn pL pH … and classifies the function.
func gsParen(b []byte) (int, Op, cmdStatus) {
	if len(b) < 5 {
		return 0, OpOther, cmdNeedMore
	}
	p := int(b[3]) | int(b[4])<<8
	op := OpOther
	switch b[2] {
	case 0x48: // GS ( H: process-ID response
		op = OpStatusQuery
	case 0x45: // GS ( E: user setup, answers
		op = OpStatusQuery
	case 0x4C: // GS ( L m fn …
		if p >= 2 {
			if len(b) < 7 {
				return 0, OpRaster, cmdNeedMore
			}
			if b[6] == 69 {
				op = OpNVImage
			} else {
				op = OpRaster
			}
		} else {
			op = OpRaster
		}
	case 0x6B: // GS ( k cn fn …
		if p >= 1 {
			if len(b) < 6 {
				return 0, OpSymbol, cmdNeedMore
			}
			if b[5] == 49 {
				op = OpQR
			} else {
				op = OpSymbol
			}
		} else {
			op = OpSymbol
		}
	}
	return sized(b, 5, p, op)
}

// gsC measures GS C 0/1/2 (counter setup) and GS C ; (counter mode, five
// ';'-terminated fields).
func gsC(b []byte) (int, Op, cmdStatus) {
	if len(b) < 3 {
		return 0, OpOther, cmdNeedMore
	}
	switch b[2] {
	case 0x30, 0x32:
		return fixed(5, OpOther)
	case 0x31:
		return fixed(9, OpOther)
	case 0x3B:
		semis := 1
		for i := 3; i < len(b); i++ {
			if b[i] == 0x3B {
				semis++
				if semis == 6 {
					return i + 1, OpOther, cmdOK
				}
			}
			if i > 64 {
				return 3, OpOther, cmdCorrupt
			}
		}
		return 0, OpOther, cmdNeedMore
	}
	return fixed(2, OpUnknown)
}

// gsD measures GS D 0 fn … where the payload is a Windows BMP whose size
// is in its own header ("BM" + 4-byte file size).
func gsD(b []byte) (int, Op, cmdStatus) {
	if len(b) < 4 {
		return 0, OpOther, cmdNeedMore
	}
	if b[2] != 0x30 {
		return fixed(2, OpUnknown)
	}
	var h int
	switch b[3] {
	case 0x43: // GS D 0 C 0 a kc1 kc2 b c BMP: define NV graphics
		h = 10
	case 0x53: // GS D 0 S 0 a bx by c BMP: define download graphics
		h = 9
	default:
		return fixed(2, OpUnknown)
	}
	if len(b) < h+6 {
		return 0, OpOther, cmdNeedMore
	}
	if b[h] != 'B' || b[h+1] != 'M' {
		return fixed(2, OpUnknown)
	}
	size, _ := le(b, h+2, 4)
	if size < 6 {
		size = 6
	}
	return sized(b, h, size, OpOther)
}

// fsCommand: FS (1C) commands.
func fsCommand(b []byte) (int, Op, cmdStatus) {
	switch b[1] {
	case 0x26:
		return fixed(2, OpChineseOn)
	case 0x2E:
		return fixed(2, OpChineseOff)
	case 0x21, 0x2D, 0x43, 0x57:
		return fixed(3, OpOther)
	case 0x3F, 0x53:
		return fixed(4, OpOther)
	case 0x70: // FS p n m: print NV bit image
		return fixed(4, OpNVImage)
	case 0x32: // FS 2 c1 c2 d1…d72: define user Kanji (24×24)
		return fixed(4+72, OpOther)
	case 0x28: // FS ( fn pL pH …
		if len(b) < 5 {
			return 0, OpOther, cmdNeedMore
		}
		p := int(b[3]) | int(b[4])<<8
		op := OpOther
		if b[2] == 0x43 && p >= 1 {
			if len(b) < 6 {
				return 0, OpOther, cmdNeedMore
			}
			if b[5] == 0x30 {
				op = OpEncoding
			}
		}
		return sized(b, 5, p, op)
	case 0x67: // FS g 1 m a1..a4 nL nH d… / FS g 2 …
		if len(b) < 3 {
			return 0, OpOther, cmdNeedMore
		}
		if b[2] == 0x31 {
			n, ok := le(b, 8, 2)
			if !ok {
				return 0, OpOther, cmdNeedMore
			}
			return sized(b, 10, n, OpOther)
		}
		return fixed(10, OpStatusQuery)
	case 0x71: // FS q n [xL xH yL yH d(x·y·8)]×n
		if len(b) < 3 {
			return 0, OpOther, cmdNeedMore
		}
		i := 3
		for k := 0; k < int(b[2]); k++ {
			if i+4 > len(b) {
				return 0, OpOther, cmdNeedMore
			}
			x := int(b[i]) | int(b[i+1])<<8
			y := int(b[i+2]) | int(b[i+3])<<8
			i += 4 + x*y*8
			if i > MaxCommandLen {
				return 3, OpOther, cmdCorrupt
			}
		}
		return i, OpOther, cmdOK
	}
	return fixed(2, OpUnknown)
}

// dleCommand: DLE (10) real-time commands; any other DLE is a data byte.
func dleCommand(b []byte) (int, Op, cmdStatus) {
	switch b[1] {
	case 0x04: // DLE EOT n [a]
		if len(b) < 3 {
			return 0, OpStatusQuery, cmdNeedMore
		}
		if b[2] == 7 || b[2] == 8 {
			return fixed(4, OpStatusQuery)
		}
		return fixed(3, OpStatusQuery)
	case 0x05: // DLE ENQ n
		return fixed(3, OpRealtime)
	case 0x14: // DLE DC4 fn …
		if len(b) < 3 {
			return 0, OpRealtime, cmdNeedMore
		}
		switch b[2] {
		case 1:
			return fixed(5, OpDrawer)
		case 2:
			return fixed(5, OpRealtime)
		case 3:
			return fixed(8, OpRealtime)
		case 7:
			return fixed(4, OpStatusQuery)
		case 8:
			return fixed(10, OpStatusQuery)
		}
		return fixed(3, OpRealtime)
	}
	return 1, OpNone, cmdData
}
