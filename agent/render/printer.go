package render

// This file is a model printer: it walks the job's tokens (escpos.Split),
// keeps the print state a real printer keeps, collects characters and
// column images into the current line, and prints lines, raster images,
// barcodes and QR symbols onto a growing sheet of paper.

import (
	"fmt"
	"image"
	"sort"

	qrcode "github.com/skip2/go-qrcode"

	"printpay.dev/printpay/agent/escpos"
)

// Defaults of a 203 dpi printer after ESC @.
const (
	defaultSpacing = 30  // line spacing in dots (ESC 2)
	defaultTab     = 96  // tab stops every 8 font A columns
	barcodeH       = 162 // GS h default
	barcodeW       = 3   // GS w default
	qrModuleSize   = 3   // GS ( k fn 67 default
	maxWarnings    = 50
	topMargin      = 12   // blank dots above the first line
	maxCachedChars = 4096 // distinct drawn characters kept per job
)

// pstate is the printer state a job changes.
type pstate struct {
	align       escpos.Align
	bold        bool
	underline   int
	reverse     bool
	w, h        int // character size multipliers 1..8
	fontB       bool
	codePage    int
	chinese     bool
	utf8        bool
	spacing     int
	charSpacing int
	tabs        []int // tab stops in dots; nil = every defaultTab
	leftMargin  int
	printWidth  int // 0 = to the right edge
	pageMode    bool
}

func initPState() pstate { return pstate{w: 1, h: 1, spacing: defaultSpacing} }

// piece is something placed on the current line: a character or a column
// image, x dots from the line's start.
type piece struct {
	x int
	m *mask
}

type printer struct {
	paper, maxH int
	g           *glyphs
	enc         string
	st          pstate

	pix   []uint8 // paper rows, 0xFF white, 0x00 black
	y     int     // next row to print on
	line  []piece
	penX  int
	lineW int
	ink   int

	barH, barW, hri int
	qrSize          int
	qrECC           byte
	qrData          []byte
	stored          *mask // GS ( L fn 112 graphics waiting for fn 50

	chars map[styleKey]*mask

	stopped  string // why drawing stopped early; "" while running
	warnings []string
	warned   map[string]bool
}

func newPrinter(paper, maxH int, g *glyphs, enc string) *printer {
	return &printer{paper: paper, maxH: maxH, g: g, enc: enc, st: initPState(), y: topMargin,
		barH: barcodeH, barW: barcodeW, qrSize: qrModuleSize, qrECC: 0x30,
		warned: map[string]bool{}, chars: map[styleKey]*mask{}}
}

// warnf records a warning once per distinct message.
func (p *printer) warnf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if p.warned[msg] || len(p.warnings) >= maxWarnings {
		return
	}
	p.warned[msg] = true
	p.warnings = append(p.warnings, msg)
}

func (p *printer) stop(reason string) {
	if p.stopped == "" {
		p.stopped = reason
		p.warnf("render: %s", reason)
	}
}

// run interprets the whole job.
func (p *printer) run(data []byte) {
	for off := 0; off < len(data) && p.stopped == ""; {
		n, t := escpos.Split(data[off:], true)
		if n <= 0 {
			break
		}
		tok := data[off : off+n]
		if t.Trunc {
			p.warnf("truncated command at offset %d (%d bytes to the end of the job)", off, n)
		}
		switch t.Kind {
		case escpos.KindText:
			p.text(tok)
		case escpos.KindCtrl:
			p.ctrl(tok[0], data[off+n:])
		case escpos.KindCmd:
			p.command(t, tok, off)
		}
		off += n
	}
	if p.stopped == "" && len(p.line) > 0 {
		// A printer holds a line until LF or another print command: text
		// at the very end of a job stays in its buffer, unprinted.
		p.warnf("the last line has no line feed: a printer keeps it in its buffer, so it is not drawn")
		p.line, p.penX, p.lineW = p.line[:0], 0, 0
	}
}

func (p *printer) ctrl(c byte, rest []byte) {
	switch c {
	case '\n':
		p.printLine(p.st.spacing)
	case '\r':
		// CR LF is one line break; a lone CR breaks the line too.
		if len(rest) == 0 || rest[0] != '\n' {
			p.printLine(p.st.spacing)
		}
	case '\t':
		p.tab()
	case 0x0C: // FF: prints the page in page mode; ignored otherwise
		if p.st.pageMode {
			p.st.pageMode = false
			p.printLine(p.st.spacing)
		}
	}
}

// area is the printable width of a line.
func (p *printer) area() int {
	a := p.paper - p.st.leftMargin
	if p.st.printWidth > 0 {
		a = min(a, p.st.printWidth)
	}
	return max(a, cellW)
}

func (p *printer) tab() {
	stops := p.st.tabs
	if stops == nil {
		next := (p.penX/defaultTab + 1) * defaultTab
		if next < p.area() {
			p.penX = next
		}
		p.lineW = max(p.lineW, p.penX)
		return
	}
	for _, s := range stops {
		if s > p.penX && s < p.area() {
			p.penX = s
			p.lineW = max(p.lineW, p.penX)
			return
		}
	}
}

// place adds a piece at the pen, breaking the line first when it does not
// fit, and moves the pen by adv.
func (p *printer) place(m *mask, adv int) {
	if p.penX > 0 && p.penX+m.W > p.area() {
		p.printLine(p.st.spacing)
	}
	if len(p.line) >= maxPieces {
		p.printLine(p.st.spacing)
	}
	p.line = append(p.line, piece{x: p.penX, m: m})
	p.penX += adv
	p.lineW = max(p.lineW, min(p.penX, p.area()))
}

// printLine prints the current line and feeds the paper by feed dots, or by
// the line's height when that is larger.
func (p *printer) printLine(feed int) {
	h := 0
	for _, pc := range p.line {
		h = max(h, pc.m.H)
	}
	if h > 0 {
		x0 := p.st.leftMargin + p.alignOffset(p.lineW)
		for _, pc := range p.line {
			p.blit(pc.m, x0+pc.x, p.y+h-pc.m.H)
		}
	}
	p.line = p.line[:0]
	p.penX, p.lineW = 0, 0
	p.feed(max(feed, h))
}

func (p *printer) alignOffset(w int) int {
	switch p.st.align {
	case escpos.AlignCenter:
		return max((p.area()-w)/2, 0)
	case escpos.AlignRight:
		return max(p.area()-w, 0)
	}
	return 0
}

func (p *printer) feed(n int) {
	if n <= 0 {
		return
	}
	p.y += n
	if p.y > p.maxH {
		p.y = p.maxH
		p.stop(fmt.Sprintf("job taller than %d dots: the rest is not drawn", p.maxH))
	}
}

// flush prints a line in progress before something that prints on its own
// (images, barcodes, QR codes, cuts).
func (p *printer) flush() {
	if len(p.line) > 0 || p.penX > 0 {
		p.printLine(p.st.spacing)
	}
}

// block prints m on its own, aligned, and feeds past it.
func (p *printer) block(m *mask) {
	p.flush()
	if p.stopped != "" {
		return
	}
	x := p.st.leftMargin + p.alignOffset(m.W)
	p.blit(m, x, p.y)
	p.feed(m.H)
}

// blit draws the black dots of m with its top-left corner at (x, y),
// clipped to the paper and the height cap.
func (p *printer) blit(m *mask, x, y int) {
	if p.stopped != "" {
		return
	}
	p.ink += m.W * m.H
	if p.ink > maxInk {
		p.stop(fmt.Sprintf("more than %d dots to draw: the rest is not drawn", maxInk))
		return
	}
	bottom := min(y+m.H, p.maxH)
	p.grow(bottom)
	for yy := max(y, 0); yy < bottom; yy++ {
		row := p.pix[yy*p.paper : (yy+1)*p.paper]
		src := m.Pix[(yy-y)*m.W : (yy-y+1)*m.W]
		for xx, on := range src {
			if on {
				if px := x + xx; px >= 0 && px < p.paper {
					row[px] = 0
				}
			}
		}
	}
}

// grow makes the paper at least rows tall.
func (p *printer) grow(rows int) {
	need := rows * p.paper
	if need <= len(p.pix) {
		return
	}
	old := len(p.pix)
	if need > cap(p.pix) {
		n := make([]uint8, old, max(need, 2*cap(p.pix)))
		copy(n, p.pix)
		p.pix = n
	}
	p.pix = p.pix[:need]
	for i := old; i < need; i++ {
		p.pix[i] = 0xFF
	}
}

// finish returns the paper, with a note at the bottom when drawing stopped
// early.
func (p *printer) finish() *image.Gray {
	if p.stopped != "" {
		p.st = initPState()
		p.line, p.penX, p.lineW = nil, 0, 0
		reason := p.stopped
		p.stopped = ""
		p.maxH += 4 * cellH
		p.feed(cellH / 2)
		for _, r := range "[" + reason + "]" {
			p.place(p.charMask(r, false), cellW)
		}
		p.printLine(p.st.spacing)
	}
	h := max(p.y, 1)
	p.grow(h)
	return &image.Gray{Pix: p.pix[:h*p.paper], Stride: p.paper, Rect: image.Rect(0, 0, p.paper, h)}
}

// text prints a run of printable bytes in the encoding in force.
func (p *printer) text(b []byte) {
	for _, c := range p.decode(b) {
		if p.stopped != "" {
			return
		}
		m := p.charMask(c.r, c.wide)
		adv := m.W + p.st.charSpacing*p.st.w
		p.place(m, adv)
	}
}

// styleKey identifies a drawn character: the same rune in the same style
// is drawn once per job.
type styleKey struct {
	r                      rune
	wide, fontB, bold, rev bool
	w, h, ul               int
}

// charMask draws one character in the current font, size and style. The
// mask is shared: callers must not change it.
func (p *printer) charMask(r rune, wide bool) *mask {
	k := styleKey{r, wide, p.st.fontB, p.st.bold, p.st.reverse, p.st.w, p.st.h, p.st.underline}
	if m, ok := p.chars[k]; ok {
		return m
	}
	m := p.drawChar(r, wide)
	if len(p.chars) < maxCachedChars {
		p.chars[k] = m
	}
	return m
}

func (p *printer) drawChar(r rune, wide bool) *mask {
	g := p.g.glyph(r, wide)
	cw, ch := g.W, g.H
	if p.st.fontB && !wide {
		cw, ch = 9, 17
	}
	w, h := cw*p.st.w, ch*p.st.h
	m := scale(g, w, h)
	if p.st.bold {
		for y := 0; y < h; y++ {
			row := m.Pix[y*w : (y+1)*w]
			for x := w - 1; x > 0; x-- {
				if row[x-1] {
					row[x] = true
				}
			}
		}
	}
	if u := p.st.underline; u > 0 {
		for y := h - u; y < h; y++ {
			for x := 0; x < w; x++ {
				m.Pix[y*w+x] = true
			}
		}
	}
	if p.st.reverse {
		for i := range m.Pix {
			m.Pix[i] = !m.Pix[i]
		}
	}
	return m
}

// scale resizes m to w×h by nearest neighbour.
func scale(m *mask, w, h int) *mask {
	out := newMask(w, h)
	for y := 0; y < h; y++ {
		sy := y * m.H / h
		for x := 0; x < w; x++ {
			out.Pix[y*w+x] = m.Pix[sy*m.W+x*m.W/w]
		}
	}
	return out
}

// command applies one ESC/GS/FS/DLE command; tok holds its bytes.
func (p *printer) command(t escpos.Token, tok []byte, off int) {
	arg := func(i int) int {
		if i < len(tok) {
			return int(tok[i])
		}
		return 0
	}
	switch t.Op {
	case escpos.OpInit:
		p.flush()
		p.st = initPState()
	case escpos.OpAlign:
		if a := arg(2) & 3; a <= 2 {
			p.st.align = escpos.Align(a)
		}
	case escpos.OpMode:
		n := arg(2)
		p.st.fontB = n&0x01 != 0
		p.st.bold = n&0x08 != 0
		p.st.h = 1 + (n>>4)&1
		p.st.w = 1 + (n>>5)&1
		p.st.underline = 0
		if n&0x80 != 0 {
			p.st.underline = 1
		}
	case escpos.OpSize:
		n := arg(2)
		p.st.w, p.st.h = (n>>4)&7+1, n&7+1
	case escpos.OpBold:
		p.st.bold = arg(2)&1 != 0
	case escpos.OpUnderline:
		p.st.underline = arg(2) & 3
		if p.st.underline == 3 {
			p.st.underline = 2
		}
	case escpos.OpReverse:
		p.st.reverse = arg(2)&1 != 0
	case escpos.OpFont:
		p.st.fontB = arg(2)&3 != 0
	case escpos.OpLineSpacing:
		if tok[1] == '2' {
			p.st.spacing = defaultSpacing
		} else {
			p.st.spacing = arg(2)
		}
	case escpos.OpCodePage:
		p.st.codePage = arg(2)
	case escpos.OpChineseOn:
		p.st.chinese = true
	case escpos.OpChineseOff:
		p.st.chinese = false
	case escpos.OpEncoding:
		// FS ( C pL pH fn m: fn 48 selects the encoding, m 2 = UTF-8.
		if arg(5) == 48 {
			p.st.utf8 = arg(6) == 2 || arg(6) == '2'
		}
	case escpos.OpFeed:
		n := arg(2)
		if tok[1] == 'd' {
			p.printLine(n * p.st.spacing)
		} else {
			p.printLine(n)
		}
	case escpos.OpColumn:
		n := arg(2) | arg(3)<<8
		if tok[1] == '$' {
			p.penX = n
		} else {
			p.penX += int(int16(n))
		}
		p.penX = min(max(p.penX, 0), p.area())
		p.lineW = max(p.lineW, p.penX)
	case escpos.OpPageMode:
		p.st.pageMode = true
		p.warnf("page mode at offset %d drawn approximately, as if in standard mode", off)
	case escpos.OpStandardMode:
		p.st.pageMode = false
	case escpos.OpCut:
		p.cut()
	case escpos.OpRaster:
		p.raster(tok, off)
	case escpos.OpNVImage:
		p.placeholder("stored logo")
	case escpos.OpBarcode:
		p.barcode(tok)
	case escpos.OpQR, escpos.OpSymbol:
		p.symbol(tok)
	default:
		p.other(tok)
	}
}

// other handles the commands the tokenizer files under OpOther that
// change how later text prints.
func (p *printer) other(tok []byte) {
	if len(tok) < 2 {
		return
	}
	arg := func(i int) int {
		if i < len(tok) {
			return int(tok[i])
		}
		return 0
	}
	switch {
	case tok[0] == 0x1B && tok[1] == ' ':
		p.st.charSpacing = arg(2)
	case tok[0] == 0x1B && tok[1] == 'D':
		var stops []int
		for _, c := range tok[2:] {
			if c == 0 {
				break
			}
			stops = append(stops, int(c)*cellW)
		}
		sort.Ints(stops)
		p.st.tabs = stops
		if len(stops) == 0 {
			p.st.tabs = nil
		}
	case tok[0] == 0x1D && tok[1] == 'L':
		p.st.leftMargin = min(arg(2)|arg(3)<<8, p.paper-cellW)
	case tok[0] == 0x1D && tok[1] == 'W':
		p.st.printWidth = arg(2) | arg(3)<<8
	case tok[0] == 0x1D && tok[1] == 'h':
		p.barH = max(arg(2), 1)
	case tok[0] == 0x1D && tok[1] == 'w':
		p.barW = min(max(arg(2), 1), 6)
	case tok[0] == 0x1D && tok[1] == 'H':
		p.hri = arg(2) & 3
	}
}

// cut prints what is pending and draws a dashed tear line.
func (p *printer) cut() {
	p.flush()
	if p.stopped != "" {
		return
	}
	p.feed(cellH / 2)
	m := newMask(p.paper, 2)
	for x := 0; x < p.paper; x++ {
		if x%16 < 10 {
			m.Pix[x], m.Pix[p.paper+x] = true, true
		}
	}
	p.blit(m, -p.st.leftMargin, p.y)
	p.feed(cellH)
}

// placeholder draws a box with a label in place of something that is not
// drawn for real.
func (p *printer) placeholder(label string) {
	p.flush()
	if p.stopped != "" {
		return
	}
	saved := p.st
	p.st = initPState()
	p.st.align = saved.align
	p.st.leftMargin, p.st.printWidth = saved.leftMargin, saved.printWidth
	var chars []*mask
	for _, r := range label {
		chars = append(chars, p.charMask(r, false))
	}
	w := min(max(len(chars)*cellW+2*cellW, 8*cellW), p.area())
	h := 3 * cellH
	m := newMask(w, h)
	for x := 0; x < w; x++ {
		m.Pix[x], m.Pix[(h-1)*w+x] = true, true
	}
	for y := 0; y < h; y++ {
		m.Pix[y*w], m.Pix[y*w+w-1] = true, true
	}
	x0 := (w - len(chars)*cellW) / 2
	for i, c := range chars {
		for y := 0; y < c.H; y++ {
			for x := 0; x < c.W; x++ {
				if c.at(x, y) {
					px := x0 + i*cellW + x
					if px > 0 && px < w-1 {
						m.Pix[(cellH+y)*w+px] = true
					}
				}
			}
		}
	}
	p.block(m)
	p.st = saved
}

// raster draws GS v 0, GS Q 0, ESC *, and GS ( L / GS 8 L graphics.
func (p *printer) raster(tok []byte, off int) {
	switch {
	case tok[0] == 0x1D && (tok[1] == 'v' || tok[1] == 'Q'):
		// GS v 0 m xL xH yL yH d…: x bytes per row, y rows, MSB leftmost.
		if len(tok) < 8 {
			p.placeholder("truncated image")
			return
		}
		mode := tok[3]
		xb := int(tok[4]) | int(tok[5])<<8
		rows := int(tok[6]) | int(tok[7])<<8
		d := tok[8:]
		if xb > 0 && len(d)/xb < rows {
			rows = len(d) / xb
			p.warnf("image at offset %d is cut short: %d rows drawn", off, rows)
		}
		m := rowMask(d, xb, rows)
		sx, sy := 1, 1
		if mode&1 != 0 {
			sx = 2
		}
		if mode&2 != 0 {
			sy = 2
		}
		if sx > 1 || sy > 1 {
			m = scale(m, m.W*sx, m.H*sy)
		}
		p.block(clipWidth(m, p.area()))
	case tok[0] == 0x1B && tok[1] == '*':
		p.columnImage(tok)
	case tok[0] == 0x1D && (tok[1] == '(' || tok[1] == '8'):
		p.graphics(tok, off)
	default:
		p.warnf("image command at offset %d not drawn", off)
	}
}

// rowMask decodes raster rows (1 = black, MSB leftmost).
func rowMask(d []byte, xb, rows int) *mask {
	m := newMask(max(xb*8, 1), max(rows, 1))
	for y := 0; y < rows; y++ {
		for x := 0; x < xb*8; x++ {
			if d[y*xb+x/8]&(0x80>>(x%8)) != 0 {
				m.Pix[y*m.W+x] = true
			}
		}
	}
	return m
}

func clipWidth(m *mask, w int) *mask {
	if m.W <= w {
		return m
	}
	out := newMask(w, m.H)
	for y := 0; y < m.H; y++ {
		copy(out.Pix[y*w:(y+1)*w], m.Pix[y*m.W:y*m.W+w])
	}
	return out
}

// columnImage puts an ESC * bit image on the current line:
// 1B 2A m nL nH d…, m 0/1 8-dot (1 byte a column), 32/33 24-dot (3 bytes);
// m 0 and 32 are single density (each column two dots wide), and 8-dot
// rows are three dots tall at 203 dpi.
func (p *printer) columnImage(tok []byte) {
	if len(tok) < 5 {
		return
	}
	mode := tok[2]
	cols := int(tok[3]) | int(tok[4])<<8
	per := 1
	if mode >= 32 {
		per = 3
	}
	d := tok[5:]
	cols = min(cols, len(d)/per)
	if cols <= 0 {
		return
	}
	m := newMask(cols, 8*per)
	for c := 0; c < cols; c++ {
		for k := 0; k < per; k++ {
			b := d[c*per+k]
			for bit := 0; bit < 8; bit++ {
				if b&(0x80>>bit) != 0 {
					m.Pix[(k*8+bit)*cols+c] = true
				}
			}
		}
	}
	sx, sy := 1, 1
	if mode == 0 || mode == 32 {
		sx = 2
	}
	if per == 1 {
		sy = 3
	}
	m = scale(m, m.W*sx, m.H*sy)
	p.place(m, m.W)
}

// graphics handles GS ( L and GS 8 L: fn 112 stores raster graphics in the
// print buffer, fn 50 prints them, fn 69 prints a stored NV logo.
//
//	1D 28 4C pL pH m fn …          GS ( L
//	1D 38 4C p1 p2 p3 p4 m fn …    GS 8 L
//	fn 112: a bx by c xL xH yL yH d…   x, y in dots; a 48 mono, 52 multi-tone (first plane drawn)
func (p *printer) graphics(tok []byte, off int) {
	h := 5
	if tok[1] == '8' {
		h = 7
	}
	if len(tok) < h+2 || tok[2] != 'L' {
		return
	}
	fn := tok[h+1]
	prm := tok[h+2:]
	switch fn {
	case 112:
		if len(prm) < 8 {
			return
		}
		bx, by := max(int(prm[1]), 1), max(int(prm[2]), 1)
		w := int(prm[4]) | int(prm[5])<<8
		rows := int(prm[6]) | int(prm[7])<<8
		xb := (w + 7) / 8
		d := prm[8:]
		if xb > 0 && len(d)/xb < rows {
			rows = len(d) / xb
			p.warnf("graphics at offset %d are cut short: %d rows drawn", off, rows)
		}
		if xb == 0 || rows <= 0 {
			return
		}
		m := rowMask(d, xb, rows)
		if bx > 1 || by > 1 {
			m = scale(m, m.W*min(bx, 2), m.H*min(by, 2))
		}
		p.stored = m
	case 50:
		if p.stored != nil {
			p.block(clipWidth(p.stored, p.area()))
			p.stored = nil
		}
	case 69:
		p.placeholder("stored logo")
	}
}

// barcode draws GS k as bars. The bars are a faithful size but not a
// faithful encoding: they stand for the barcode, the HRI text says what it
// holds.
//
//	1D 6B m d… 00      m 0..6
//	1D 6B m n d1…dn    m 65..79
func (p *printer) barcode(tok []byte) {
	if len(tok) < 4 {
		return
	}
	var data []byte
	if m := tok[2]; m <= 6 {
		data = tok[3:]
		if n := len(data); n > 0 && data[n-1] == 0 {
			data = data[:n-1]
		}
	} else {
		data = tok[4:]
	}
	var mods []bool
	bits := func(s string) {
		for _, c := range s {
			mods = append(mods, c == '1')
		}
	}
	bits("11010010000")
	for _, c := range data {
		v := c ^ 0x5A
		for i := 0; i < 8; i++ {
			mods = append(mods, v&(0x80>>i) != 0)
		}
		mods = append(mods, false)
	}
	bits("1100011101011")
	mw := p.barW
	for mw > 1 && len(mods)*mw > p.area() {
		mw--
	}
	w := min(len(mods)*mw, p.area())
	m := newMask(w, p.barH)
	for x := 0; x < w; x++ {
		if mods[x/mw] {
			for y := 0; y < p.barH; y++ {
				m.Pix[y*w+x] = true
			}
		}
	}
	if p.hri&1 != 0 {
		p.hriLine(data)
	}
	p.block(m)
	if p.hri&2 != 0 {
		p.hriLine(data)
	}
}

func (p *printer) hriLine(data []byte) {
	saved := p.st
	p.st.w, p.st.h, p.st.bold, p.st.underline, p.st.reverse = 1, 1, false, 0, false
	for _, c := range data {
		if c >= 0x20 && c < 0x7F {
			p.place(p.charMask(rune(c), false), cellW)
		}
	}
	p.printLine(p.st.spacing)
	p.st = saved
}

// symbol handles GS ( k: cn 49 (QR) is stored and drawn as a real QR code;
// other symbologies print as a placeholder.
//
//	1D 28 6B pL pH cn fn …
func (p *printer) symbol(tok []byte) {
	if len(tok) < 7 {
		return
	}
	cn, fn := tok[5], tok[6]
	if cn != 49 {
		if fn == 81 {
			p.placeholder(symbolName(cn))
		}
		return
	}
	switch fn {
	case 67: // module size
		if len(tok) > 7 {
			p.qrSize = min(max(int(tok[7]), 1), 16)
		}
	case 69: // error correction
		if len(tok) > 7 {
			p.qrECC = tok[7]
		}
	case 80: // store: 31 50 30 d…
		if len(tok) > 8 {
			p.qrData = append(p.qrData[:0], tok[8:]...)
		}
	case 81: // print
		p.printQR()
	}
}

func symbolName(cn byte) string {
	switch cn {
	case 48:
		return "PDF417"
	case 50:
		return "MaxiCode"
	case 51:
		return "GS1 DataBar"
	case 52:
		return "Composite"
	case 53:
		return "Aztec"
	case 54:
		return "DataMatrix"
	}
	return "2D code"
}

// printQR draws the stored QR data with the module size in force, quiet
// zone included.
func (p *printer) printQR() {
	if len(p.qrData) == 0 {
		return
	}
	lvl := qrcode.Low
	switch p.qrECC {
	case 0x31, 1:
		lvl = qrcode.Medium
	case 0x32, 2:
		lvl = qrcode.High
	case 0x33, 3:
		lvl = qrcode.Highest
	}
	q, err := qrcode.New(string(p.qrData), lvl)
	if err != nil {
		p.warnf("qr code not drawn: %v", err)
		p.placeholder("QR code")
		return
	}
	bm := q.Bitmap()
	n := len(bm)
	size := p.qrSize
	for size > 1 && n*size > p.area() {
		size--
	}
	m := newMask(n*size, n*size)
	for y := 0; y < n*size; y++ {
		for x := 0; x < n*size; x++ {
			m.Pix[y*m.W+x] = bm[y/size][x/size]
		}
	}
	p.block(clipWidth(m, p.area()))
}
