package escpos

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"unsafe"
)

// Scan reads a whole job: one pass of Split over the bytes tracks the
// print state, builds lines and receipts and chooses splice points; the
// text runs kept in lines are then decoded with the encoding chosen for
// the job (see decode.go). Scan never panics, never modifies data, and
// uses memory proportional to len(data).
func Scan(data []byte, opt Options) *Job {
	s := newScanner(data, opt)
	s.run()
	j := s.finish()
	s.release()
	return j
}

// tables holds a scanner's working tables between Scans: they are
// proportional to the job and never escape it, so reusing them spares
// the garbage collector most of a Scan's allocations.
type tables struct {
	segs  []seg
	lines []rawLine
	rcpts []rcpt
}

var tablePool = sync.Pool{New: func() any { return new(tables) }}

// release returns the working tables to the pool; tables of huge jobs
// are left to the garbage collector.
func (s *scanner) release() {
	if cap(s.segs) > 1<<20 || cap(s.lines) > 1<<20 || cap(s.rcpts) > 1<<16 {
		return
	}
	t := &tables{segs: s.segs[:0], lines: s.lines[:0], rcpts: s.rcpts[:0]}
	s.segs, s.lines, s.rcpts = nil, nil, nil
	tablePool.Put(t)
}

// textClass says which table applies to a text run.
type textClass uint8

const (
	clsAuto     textClass = iota // no ESC t, FS & or FS ( C in force: detect
	clsChinese                   // FS & in force
	clsUTF8                      // FS ( C selected UTF-8
	clsCodePage                  // ESC t n in force (seg.page)
)

// seg is a text run or a column break on a line under construction.
type seg struct {
	off, n int
	cls    textClass
	page   uint8
	tab    bool
	high   bool  // has bytes >= 0x80
	intl   uint8 // ESC R international character set in force
}

// rawLine is a line before its text is decoded. For text lines
// segs[a:b] are its runs; for barcodes and QR codes data[a:b] is the
// payload.
type rawLine struct {
	a, b  int
	off   int
	w, h  uint8
	align Align
	bold  bool
	kind  LineKind
}

// rcpt is a receipt before its lines are decoded.
type rcpt struct {
	start, end   int
	cut          int
	splice       int
	reason       string
	state        State
	lineA, lineB int
	prints       bool
	drawer       bool
}

// spot is a candidate splice point and the state in force there. The
// state is copied lazily: pending means "the state is still s.st", and
// settle copies it before a command changes s.st.
type spot struct {
	off      int
	st       State
	pageMode bool
	mid      bool
	pending  bool
}

const maxWarnings = 64

// maxRasterInk is the most text a raster-only job may carry: drivers'
// vendor commands leave a stray byte or two that tokenizes as text.
const maxRasterInk = 4

type scanner struct {
	data []byte
	opt  Options
	warn []Warning
	more int // warnings dropped past maxWarnings

	st         State
	pageMode   bool
	cpSelected bool  // ESC t seen since the last ESC @
	intl       uint8 // ESC R n in force

	segs  []seg
	lines []rawLine
	rcpts []rcpt

	// line under construction
	lineSeg    int
	lineOff    int // -1: nothing on the line yet
	lineAny    bool
	lineInk    bool
	lineAlign  Align
	lineBold   bool
	lineW      int
	lineH      int
	lastWasTab bool

	// receipt under construction
	rStart  int
	rLine   int
	rPrints bool
	rDrawer bool
	rAfter  bool // the receipt starts after a command that swallows the job
	cut     spot // after the last non-tail token
	end     spot // after the last token that is neither tail nor trailer

	// job facts
	raster      int // raster/NV image commands
	ink         int // non-blank text bytes, less vendor-parameter noise
	starVotes   int
	escposVotes int
	chinese     bool // FS & seen
	sawUTF8     bool // FS ( C selected UTF-8 somewhere
	firstPage   int  // first ESC t n of the job, -1 when none
	afterUnk    bool // previous token was an unknown command
	crEnded     bool // previous token was a CR that ended a printed line
	swallowed   bool // a command ran past the end of the job (swallows)
	textBytes   int  // bytes of text runs
	highText    int  // … of runs with bytes >= 0x80
	intlText    int  // … of runs under an ESC R character set
	payload     int  // bytes of barcode and QR payloads on lines
	qrOff       int  // last stored QR / symbol payload
	qrLen       int
	symOff      int
	symLen      int
}

func newScanner(data []byte, opt Options) *scanner {
	s := &scanner{data: data, opt: opt, st: initState(), lineOff: -1, firstPage: -1}
	s.lineW, s.lineH = 1, 1
	// Size the line and run tables once: about one line per LF.
	nl := min(bytes.Count(data, []byte{'\n'}), len(data)/4) + 16
	t := tablePool.Get().(*tables)
	s.lines, s.segs = t.lines[:0], t.segs[:0]
	if cap(s.lines) < nl {
		s.lines = make([]rawLine, 0, nl)
	}
	if cap(s.segs) < 2*nl {
		s.segs = make([]seg, 0, 2*nl)
	}
	s.rcpts = t.rcpts[:0]
	s.newReceipt(0)
	return s
}

func (s *scanner) warnf(off int, format string, args ...any) {
	if len(s.warn) >= maxWarnings {
		s.more++
		return
	}
	s.warn = append(s.warn, Warning{Offset: off, Msg: fmt.Sprintf(format, args...)})
}

// param returns byte i of token t, or -1 when the token is too short.
func (s *scanner) param(t *Token, i int) int {
	if i >= t.Len {
		return -1
	}
	return int(s.data[t.Off+i])
}

func (s *scanner) run() {
	data := s.data
	off := 0
	// Each branch hands its token straight to s.token: a Token assembled
	// field by field and read back whole stalls the loop.
	for off < len(data) {
		c := data[off]
		switch {
		case c >= 0x20:
			// Text, the most common token: no call into Split.
			n, high := textRun(data[off:])
			s.text(off, n, high, !high && isBlank(data[off:off+n]))
			off += n
			continue
		case c != esc && c != gs && c != fs && c != dle:
			s.ctrl(off+1, ctrlOp(c))
			off++
			continue
		}
		if sc := simpleCmd(data[off:]); sc.n != 0 {
			s.token(Token{Off: off, Len: int(sc.n), Kind: KindCmd, Op: sc.op})
			off += int(sc.n)
			continue
		}
		n, t := Split(data[off:], true)
		if n <= 0 { // cannot happen with atEOF; never loop forever
			t = Token{Len: 1, Kind: KindCtrl}
		}
		t.Off = off
		if t.Trunc {
			if !s.swallowed && s.swallows(t) {
				// The printer takes the rest of the job as this
				// command's data: the splice points stay where they
				// are, before it, and no later receipt gets one.
				s.swallowed = true
			}
			t = s.truncated(t)
		}
		s.token(t)
		off += t.Len
	}
	s.flushLine()
}

// swallows tells whether a Trunc command's declared length runs past the
// end of the job, so that a printer reads every later byte as its data:
// it was cut short by the end of the data, or it declares more than
// MaxCommandLen bytes and fewer remain. A barcode without its terminator
// is not one: printers end it at the first byte outside its character set.
func (s *scanner) swallows(t Token) bool {
	if t.Off+t.Len == len(s.data) {
		return true
	}
	return t.Op != OpBarcode && len(s.data)-t.Off <= MaxCommandLen
}

// truncated reports a command whose declared length is wrong and, when it
// ran past the end of the job, tries to resynchronise on a clean tail that
// ends with a cut (escpos.md §2: corpus retail.bin).
func (s *scanner) truncated(t Token) Token {
	end := t.Off + t.Len
	name := cmdName(s.data[t.Off:end])
	if end < len(s.data) {
		s.warnf(t.Off, "%s: declared length over %d bytes; treated as corrupt", name, MaxCommandLen)
		return t
	}
	if p := resync(s.data, t.Off+2); p > 0 {
		s.warnf(t.Off, "%s: declared length runs past the end of the job; resynchronised at %d", name, p)
		t.Len = p - t.Off
		return t
	}
	s.warnf(t.Off, "%s: truncated, %d bytes to the end of the job", name, t.Len)
	return t
}

// resync finds the earliest offset >= from, within the last 4 KiB of data,
// where a command starts whose tail tokenizes cleanly to the end of data
// (only known commands, LF/CR/HT, ASCII text) and contains a cut. -1 when
// there is none.
func resync(data []byte, from int) int {
	ws := len(data) - 4096
	if ws < from {
		ws = from
	}
	budget := 1 << 18
	for p := ws; p < len(data) && budget > 0; p++ {
		c := data[p]
		if c != esc && c != gs && c != fs {
			continue
		}
		cut := false
		ok := true
		for q := p; q < len(data); {
			budget--
			n, t := Split(data[q:], true)
			switch {
			case t.Trunc || t.Op == OpUnknown:
				ok = false
			case t.Kind == KindCtrl && t.Op != OpLF && t.Op != OpCR && t.Op != OpHT:
				ok = false
			case t.Kind == KindText:
				for _, b := range data[q : q+n] {
					if b >= 0x80 {
						ok = false
						break
					}
				}
			case t.Op == OpCut:
				cut = true
			}
			if !ok {
				break
			}
			q += n
		}
		if ok && cut {
			return p
		}
	}
	return -1
}

// simple is a fixed-length command the scan loop takes without a call
// into Split.
type simple struct {
	n  uint8
	op Op
}

// simpleESC and simpleGS are the commonest fixed-length ESC and GS
// commands by their second byte (TestSimpleCommandsMatchSplit checks that
// Split reads them the same way).
var (
	simpleESC = [256]simple{
		'@': {2, OpInit}, '2': {2, OpLineSpacing}, '3': {3, OpLineSpacing},
		'!': {3, OpMode}, '-': {3, OpUnderline}, 'E': {3, OpBold}, 'G': {3, OpBold},
		'J': {3, OpFeed}, 'd': {3, OpFeed}, 'M': {3, OpFont}, 'a': {3, OpAlign}, 't': {3, OpCodePage},
	}
	simpleGS = [256]simple{'!': {3, OpSize}, 'B': {3, OpReverse}}
)

// simpleCmd returns the simple command at the start of b, n == 0 when it
// is not one or is cut short.
func simpleCmd(b []byte) simple {
	if len(b) < 3 {
		return simple{}
	}
	var sc simple
	switch b[0] {
	case esc:
		sc = simpleESC[b[1]]
	case gs:
		sc = simpleGS[b[1]]
	}
	return sc
}

// textRun is textEnd that also tells whether the run has bytes >= 0x80,
// in the same pass.
func textRun(b []byte) (int, bool) {
	const hi = 0x8080808080808080
	or := uint64(b[0])
	i := 1
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// A byte below 0x20 sets its high bit in (x - 0x20…) & ^x; a
		// borrow can set a false one only above a true one, so the
		// lowest set bit is the first control byte.
		if m := (x - 0x2020202020202020) &^ x & hi; m != 0 {
			k := bits.TrailingZeros64(m) >> 3 // bytes before it
			or |= x & (1<<(8*k) - 1)
			return i + k, or&hi != 0
		}
		or |= x
	}
	for i < len(b) && b[i] >= 0x20 {
		or |= uint64(b[i])
		i++
	}
	return i, or&hi != 0
}

// cmdName renders a command's first bytes for a warning.
func cmdName(b []byte) string {
	if len(b) == 0 {
		return "command"
	}
	var p string
	switch b[0] {
	case esc:
		p = "ESC"
	case gs:
		p = "GS"
	case fs:
		p = "FS"
	case dle:
		p = "DLE"
	default:
		return fmt.Sprintf("%02X", b[0])
	}
	if len(b) < 2 {
		return p
	}
	c := b[1]
	if c > 0x20 && c < 0x7F {
		if len(b) > 2 && (c == '(' || c == '8') && b[2] > 0x20 && b[2] < 0x7F {
			return fmt.Sprintf("%s %c %c", p, c, b[2])
		}
		return fmt.Sprintf("%s %c", p, c)
	}
	return fmt.Sprintf("%s %02X", p, c)
}

func (s *scanner) token(t Token) {
	// After each token the candidate splice points move past it unless
	// it is tail (isTail); status queries, drawer kicks and ESC @ move
	// only the point before a cut. Never once a command swallows the job.
	switch t.Kind {
	case KindText:
		_, high := textRun(s.data[t.Off : t.Off+t.Len])
		s.text(t.Off, t.Len, high, t.Op == OpBlank)
	case KindCtrl:
		s.ctrl(t.Off+t.Len, t.Op)
	default:
		s.crEnded = false
		if t.Op == OpCut {
			s.cutToken(t)
			s.afterUnk = false
			return
		}
		s.command(t)
		s.afterUnk = t.Op == OpUnknown
		if s.swallowed || isTail(KindCmd, t.Op, t.Trunc) {
			return
		}
		s.cut.mark(t.Off+t.Len, s.pageMode, s.lineAny)
		switch t.Op {
		case OpInit, OpStatusQuery, OpRealtime, OpDrawer:
			return
		}
		s.end.mark(t.Off+t.Len, s.pageMode, s.lineAny)
	}
}

// mark moves a candidate splice point; its state is copied lazily.
func (p *spot) mark(off int, pageMode, mid bool) {
	p.off, p.pageMode, p.mid, p.pending = off, pageMode, mid, true
}

// settle copies the current state into the candidate splice points that
// still refer to it; called before the state changes.
func (s *scanner) settle() {
	if s.cut.pending {
		s.cut.st, s.cut.pending = s.st, false
	}
	if s.end.pending {
		s.end.st, s.end.pending = s.st, false
	}
}

// stateAt is the state in force at a candidate splice point.
func (s *scanner) stateAt(at spot) State {
	st := at.st
	if at.pending {
		st = s.st
	}
	st.MidLine = at.mid
	return st
}

// text handles a text run of n bytes at off (high: it has bytes >= 0x80;
// blank: spaces only).
func (s *scanner) text(off, n int, high, blank bool) {
	cls, page := clsAuto, uint8(0)
	switch {
	case s.st.UTF8:
		cls = clsUTF8
	case s.st.Chinese:
		cls = clsChinese
	case s.cpSelected:
		cls, page = clsCodePage, uint8(s.st.CodePage)
	}
	if s.lineOff < 0 {
		s.lineOff = off
		s.lineAlign = s.st.Align
	}
	// Fields written in place: a seg built on the stack and copied costs
	// a store-forwarding stall per run.
	s.segs = append(s.segs, seg{})
	sg := &s.segs[len(s.segs)-1]
	sg.off, sg.n = off, n
	sg.cls, sg.page, sg.intl, sg.high = cls, page, s.intl, high
	s.textBytes += n
	if high {
		s.highText += n
	}
	if s.intl != 0 {
		s.intlText += n
	}
	s.lineAny = true
	s.lastWasTab = false
	s.crEnded = false
	if blank {
		s.afterUnk = false
		return
	}
	if !s.lineInk {
		s.lineInk = true
		s.lineAlign = s.st.Align
	}
	if !(s.afterUnk && n <= 4) {
		s.ink += n
	}
	s.afterUnk = false
	if s.st.Bold {
		s.lineBold = true
	}
	s.lineW = max(s.lineW, s.st.Width)
	s.lineH = max(s.lineH, s.st.Height)
	if !s.swallowed {
		s.cut.mark(off+n, s.pageMode, s.lineAny)
		s.end.mark(off+n, s.pageMode, s.lineAny)
	}
}

// ctrl handles a control byte that ends at end.
func (s *scanner) ctrl(end int, op Op) {
	// The LF or CR (CR LF being one break) that ends a printed text line
	// belongs to that line: the splice point goes after it, at the start
	// of the next line (DESIGN 2.5), and only the feeds after it are the
	// receipt's tail.
	ends := false
	switch op {
	case OpLF, OpCR:
		ends = s.lineInk || (op == OpLF && s.crEnded)
		s.crEnded = ends && op == OpCR
		s.flushLine()
	case OpHT:
		s.crEnded = false
		s.column()
	case OpFF:
		s.crEnded = false
		s.flushLine()
		s.pageMode = false
	case OpCAN:
		s.crEnded = false
		if s.pageMode {
			s.dropLine()
		}
	default:
		s.crEnded = false
	}
	s.afterUnk = false
	if (ends || !isTail(KindCtrl, op, false)) && !s.swallowed {
		s.cut.mark(end, s.pageMode, s.lineAny)
		s.end.mark(end, s.pageMode, s.lineAny)
	}
}

func (s *scanner) column() {
	if !s.lineAny || s.lastWasTab {
		return
	}
	s.segs = append(s.segs, seg{tab: true})
	s.lastWasTab = true
}

// flushLine ends the line under construction; a line without ink is
// dropped.
func (s *scanner) flushLine() {
	if s.lineInk {
		s.lines = append(s.lines, rawLine{})
		l := &s.lines[len(s.lines)-1]
		l.a, l.b, l.off = s.lineSeg, len(s.segs), s.lineOff
		l.align, l.bold, l.w, l.h, l.kind = s.lineAlign, s.lineBold, uint8(s.lineW), uint8(s.lineH), LineText
		s.rPrints = true
	} else {
		s.segs = s.segs[:s.lineSeg]
	}
	s.resetLine()
}

// dropLine discards the line under construction (ESC @, CAN in page mode).
func (s *scanner) dropLine() {
	s.segs = s.segs[:s.lineSeg]
	s.resetLine()
}

func (s *scanner) resetLine() {
	s.lineSeg = len(s.segs)
	s.lineOff = -1
	s.lineAny, s.lineInk, s.lineBold, s.lastWasTab = false, false, false, false
	s.lineW, s.lineH = 1, 1
}

// object adds an image, barcode or QR line.
func (s *scanner) object(t Token, kind LineKind, dOff, dLen int) {
	s.flushLine()
	if kind == LineImage && len(s.lines) > s.rLine {
		if l := s.lines[len(s.lines)-1]; l.kind == LineImage {
			return // bands of one picture
		}
	}
	s.lines = append(s.lines, rawLine{
		a: dOff, b: dOff + dLen, off: t.Off, align: s.st.Align,
		w: 1, h: 1, kind: kind,
	})
	s.payload += max(dLen, 0)
	s.rPrints = true
}

func (s *scanner) command(t Token) {
	d := s.data
	p2 := s.param(&t, 2)
	if t.Op == OpUnknown {
		if t.Len >= 2 && d[t.Off] == esc && (d[t.Off+1] == 0x1D || d[t.Off+1] == 0x1E || (d[t.Off+1] == 0x2A && p2 == 'r')) {
			s.starVotes++
		}
		if len(s.warn) < maxWarnings {
			s.warnf(t.Off, "unknown command %s skipped as %d bytes", cmdName(d[t.Off:t.Off+t.Len]), t.Len)
		} else {
			s.more++
		}
		return
	}
	if d[t.Off] == gs {
		s.escposVotes++
	}
	switch t.Op {
	case OpInit, OpMode, OpSize, OpBold, OpUnderline, OpReverse, OpAlign, OpCodePage,
		OpChineseOn, OpChineseOff, OpEncoding:
		s.settle()
	}
	switch t.Op {
	case OpInit:
		if s.lineInk {
			s.warnf(t.Off, "ESC @ discards %d bytes of unprinted text", t.Off-s.lineOff)
		}
		s.dropLine()
		chinese := s.st.Chinese
		s.st = initState()
		s.st.Chinese = chinese
		s.pageMode = false
		s.cpSelected = false
		s.intl = 0
	case OpMode:
		if p2 >= 0 {
			n := byte(p2)
			s.st.Mode = n
			s.st.Bold = n&0x08 != 0
			s.st.Width = 1 + int(n>>5&1)
			s.st.Height = 1 + int(n>>4&1)
			s.st.Underline = int(n >> 7)
		}
	case OpSize:
		if p2 >= 0 {
			s.st.Width = 1 + (p2>>4)&7
			s.st.Height = 1 + p2&7
		}
	case OpBold:
		if p2 >= 0 {
			s.st.Bold = p2&1 != 0
		}
	case OpUnderline:
		if p2 >= 0 {
			s.st.Underline = p2 & 3
		}
	case OpReverse:
		if p2 >= 0 {
			s.st.Reverse = p2&1 != 0
		}
	case OpAlign:
		if p2 >= 0 && p2&3 <= 2 && (p2 <= 2 || (p2 >= '0' && p2 <= '2')) {
			s.st.Align = Align(p2 & 3)
		}
	case OpCodePage:
		if p2 >= 0 {
			s.st.CodePage = p2
			s.cpSelected = true
			if s.firstPage < 0 {
				s.firstPage = p2
			}
		}
	case OpChineseOn:
		s.st.Chinese = true
		s.chinese = true
	case OpChineseOff:
		s.st.Chinese = false
	case OpEncoding:
		switch s.param(&t, 6) {
		case 1, '1':
			s.st.UTF8 = false
		case 2, '2':
			s.st.UTF8 = true
			s.sawUTF8 = true
		}
	case OpColumn:
		s.column()
	case OpPageMode:
		s.flushLine()
		s.pageMode = true
	case OpStandardMode:
		s.flushLine()
		s.pageMode = false
	case OpFeed:
		s.flushLine()
	case OpOther:
		switch {
		case d[t.Off] == esc && (d[t.Off+1] == 0x4B || d[t.Off+1] == 0x65): // reverse feeds print too
			s.flushLine()
		case d[t.Off] == esc && d[t.Off+1] == 0x52 && p2 >= 0: // ESC R n
			s.intl = uint8(p2)
		}
	case OpRaster:
		s.raster++
		if s.printsImage(t) {
			s.object(t, LineImage, 0, 0)
		}
	case OpDrawer:
		s.rDrawer = true
	case OpNVImage:
		s.raster++
		s.object(t, LineImage, 0, 0)
	case OpBarcode:
		if t.Len > 3 && !t.Trunc {
			if p2 <= 6 {
				s.object(t, LineBarcode, t.Off+3, t.Len-4)
			} else {
				s.object(t, LineBarcode, t.Off+4, t.Len-4)
			}
		}
	case OpQR, OpSymbol:
		s.symbol(t)
	}
}

// printsImage tells whether a raster command prints (rather than stores).
func (s *scanner) printsImage(t Token) bool {
	d := s.data[t.Off:]
	switch d[1] {
	case 0x28: // GS ( L pL pH m fn
		fn := s.param(&t, 6)
		return fn == 50 || fn == 69 || fn == 85
	case 0x38: // GS 8 L p1..p4 m fn
		fn := s.param(&t, 8)
		return fn == 50 || fn == 69 || fn == 85
	case 0x2A: // ESC * prints; GS * only defines
		return d[0] == esc
	}
	return true
}

// symbol handles GS ( k: fn 80 stores the data, fn 81 prints it.
func (s *scanner) symbol(t Token) {
	if t.Trunc || t.Len < 7 {
		return
	}
	fn := s.param(&t, 6)
	switch fn {
	case 80: // 1D 28 6B pL pH cn 50 m d…
		if t.Len >= 8 {
			if t.Op == OpQR {
				s.qrOff, s.qrLen = t.Off+8, t.Len-8
			} else {
				s.symOff, s.symLen = t.Off+8, t.Len-8
			}
		}
	case 81:
		if t.Op == OpQR {
			s.object(t, LineQR, s.qrOff, s.qrLen)
		} else {
			s.object(t, LineBarcode, s.symOff, s.symLen)
		}
	}
}

// newReceipt starts a receipt at off.
func (s *scanner) newReceipt(off int) {
	s.rStart = off
	s.rLine = len(s.lines)
	s.rPrints = false
	s.rDrawer = false
	s.rAfter = s.swallowed
	if s.swallowed {
		return
	}
	s.cut.mark(off, s.pageMode, s.lineAny)
	s.end.mark(off, s.pageMode, s.lineAny)
}

func (s *scanner) cutToken(t Token) {
	s.flushLine()
	s.closeReceipt(t.Off+t.Len, t.Off, s.cut)
	s.newReceipt(t.Off + t.Len)
}

// closeReceipt ends the receipt under construction at end; a receipt that
// printed nothing is joined to the one before it.
func (s *scanner) closeReceipt(end, cut int, at spot) {
	if !s.rPrints && len(s.rcpts) > 0 {
		r := &s.rcpts[len(s.rcpts)-1]
		r.end = end
		r.lineB = len(s.lines)
		r.drawer = r.drawer || s.rDrawer
		return
	}
	r := rcpt{start: s.rStart, end: end, cut: cut, lineA: s.rLine, lineB: len(s.lines), prints: s.rPrints, drawer: s.rDrawer}
	r.splice, r.state = at.off, s.stateAt(at)
	switch {
	case at.pageMode:
		r.splice, r.reason = -1, ReasonPageMode
	case !s.rPrints:
		r.splice, r.reason = -1, ReasonNothing
	case s.rAfter:
		r.splice, r.reason = -1, ReasonSwallowed
	}
	s.rcpts = append(s.rcpts, r)
}

func (s *scanner) finish() *Job {
	if len(s.rcpts) == 0 || s.rStart < len(s.data) || len(s.data) == 0 {
		s.closeReceipt(len(s.data), -1, s.end)
	}
	job := &Job{}
	job.Star = s.starVotes > s.escposVotes && s.starVotes > 0
	job.RasterOnly = !job.Star && s.ink <= maxRasterInk && s.raster > 0
	dec := s.chooseEncoding(job)
	// All texts go into one string: one allocation, sliced per line.
	lines := make([]Line, len(s.lines))
	// s.lines[i].b is free once the line is decoded: it keeps the end
	// of the line's text in buf.
	// Size the buffer from the counts the scan kept: a single-byte
	// page's high byte (or an ESC R character) becomes up to three UTF-8
	// bytes, a two-byte character three. A short estimate only costs a
	// copy.
	perHigh := 2
	switch job.Encoding {
	case "gb18030", "big5", "utf-8":
		perHigh = 1
	}
	size := s.textBytes + len(s.segs) + s.payload + perHigh*s.highText + 2*s.intlText
	buf := make([]byte, 0, size+64)
	for i, l := range s.lines {
		switch {
		case l.kind == LineText:
			buf = dec.appendLine(buf, s.segs[l.a:l.b])
		case l.b > l.a:
			buf = append(buf, s.data[l.a:l.b]...)
		}
		s.lines[i].b = len(buf)
	}
	// buf is never written again: the string shares its bytes, as
	// strings.Builder does.
	all := unsafe.String(unsafe.SliceData(buf), len(buf))
	start := 0
	for i := range s.lines {
		l, dst := &s.lines[i], &lines[i]
		dst.Offset, dst.Align, dst.Bold, dst.Width, dst.Height, dst.Kind = l.off, l.align, l.bold, int(l.w), int(l.h), l.kind
		if l.kind == LineText {
			dst.Text = all[start:l.b]
		} else {
			dst.Data = all[start:l.b]
		}
		start = l.b
	}
	job.Receipts = make([]Receipt, len(s.rcpts))
	for i, r := range s.rcpts {
		rec := Receipt{
			Index: i, Start: r.start, End: r.end, CutOffset: r.cut,
			SpliceOffset: r.splice, SpliceReason: r.reason, State: r.state,
			Lines: lines[r.lineA:r.lineB:r.lineB], Drawer: r.drawer,
		}
		if rec.SpliceOffset >= 0 {
			switch {
			case job.Star:
				rec.SpliceOffset, rec.SpliceReason = -1, ReasonStar
			case job.RasterOnly:
				rec.SpliceOffset, rec.SpliceReason = -1, ReasonRasterOnly
			case dec.mangled != "":
				rec.SpliceOffset, rec.SpliceReason = -1, dec.mangled
			}
		}
		job.Receipts[i] = rec
	}
	if job.Star {
		s.warnf(0, "Star Line Mode job (ESC GS / ESC RS sequences): passed through")
	}
	if s.more > 0 {
		s.warn = append(s.warn, Warning{Offset: len(s.data), Msg: fmt.Sprintf("%d more warnings not shown", s.more)})
	}
	slices.SortStableFunc(s.warn, func(a, b Warning) int { return a.Offset - b.Offset })
	job.Warnings = s.warn
	return job
}
