package render

// This file finds a font with Chinese glyphs on the system and turns runes
// into printer-sized glyph masks: 12×24 dots for a half-width character
// and 24×24 for a full-width one, the cells of an 80 mm printer's font A.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"os"
	"slices"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// DefaultFontPaths returns the places searched, in order, for a font with
// CJK glyphs when Options.FontPath and Options.FontPaths are empty: Debian's
// fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk and
// fonts-droid-fallback, then the usual macOS and Windows fonts. A path that
// does not exist is skipped.
func DefaultFontPaths() []string { return slices.Clone(defaultFontPaths) }

var defaultFontPaths = []string{
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/System/Library/Fonts/PingFang.ttc",
	"/System/Library/Fonts/STHeiti Light.ttc",
	`C:\Windows\Fonts\msyh.ttc`,
	`C:\Windows\Fonts\simsun.ttc`,
}

// Font cell of font A in dots.
const (
	cellW = 12
	cellH = 24
)

// loaded is a parsed font file; *opentype.Font is safe for concurrent use
// (faces are not, so each render makes its own).
type loaded struct {
	path string
	font *opentype.Font
	err  error
}

var (
	fontMu    sync.Mutex
	fontCache = map[string]*loaded{}
)

// loadFont parses the font at path once per process.
func loadFont(path string) (*opentype.Font, error) {
	fontMu.Lock()
	defer fontMu.Unlock()
	if l, ok := fontCache[path]; ok {
		return l.font, l.err
	}
	l := &loaded{path: path}
	fontCache[path] = l
	b, err := os.ReadFile(path)
	if err != nil {
		l.err = fmt.Errorf("render: read font: %w", err)
		return nil, l.err
	}
	l.font, l.err = parseFont(b)
	if l.err != nil {
		// x/image/font/sfnt insists that tables start on four-byte
		// boundaries, which some shipped fonts (wqy-microhei.ttc) ignore:
		// copy the first font's tables into an aligned font and retry.
		if a, err := alignTables(b); err == nil {
			if f, err := opentype.Parse(a); err == nil {
				l.font, l.err = f, nil
			}
		}
	}
	if l.err != nil {
		l.err = fmt.Errorf("render: parse font %s: %w", path, l.err)
	}
	return l.font, l.err
}

func parseFont(b []byte) (*opentype.Font, error) {
	if c, err := opentype.ParseCollection(b); err == nil && c.NumFonts() > 0 {
		return c.Font(0)
	}
	return opentype.Parse(b)
}

var errFontFile = errors.New("render: malformed font file")

// alignTables returns the first font of a TrueType collection (or a single
// font) as a standalone font whose tables start on four-byte boundaries.
//
//	TTC header:   "ttcf" version:4 numFonts:4 offset[numFonts]:4
//	offset table: sfntVersion:4 numTables:2 searchRange:2 entrySelector:2 rangeShift:2
//	table record: tag:4 checksum:4 offset:4 length:4   (numTables of them)
func alignTables(b []byte) ([]byte, error) {
	u32 := func(i int) (int, bool) {
		if i < 0 || i+4 > len(b) {
			return 0, false
		}
		return int(binary.BigEndian.Uint32(b[i:])), true
	}
	off := 0
	if len(b) >= 16 && string(b[:4]) == "ttcf" {
		o, ok := u32(12)
		if !ok {
			return nil, errFontFile
		}
		off = o
	}
	if off+12 > len(b) {
		return nil, errFontFile
	}
	n := int(binary.BigEndian.Uint16(b[off+4:]))
	dir := off + 12
	if n == 0 || dir+16*n > len(b) {
		return nil, errFontFile
	}
	head := 12 + 16*n
	out := make([]byte, head, len(b))
	copy(out, b[off:off+12])
	for i := 0; i < n; i++ {
		rec := dir + 16*i
		to, _ := u32(rec + 8)
		tl, _ := u32(rec + 12)
		if to+tl > len(b) || to < 0 || tl < 0 {
			return nil, errFontFile
		}
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		r := out[12+16*i:]
		copy(r[:8], b[rec:rec+8])
		binary.BigEndian.PutUint32(r[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(r[12:], uint32(tl))
		out = append(out, b[to:to+tl]...)
	}
	return out, nil
}

// findFont returns the explicit font, or the first usable font of paths,
// or nil when there is none.
func findFont(explicit string, paths []string) (*opentype.Font, string, error) {
	if explicit != "" {
		f, err := loadFont(explicit)
		return f, explicit, err
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if f, err := loadFont(p); err == nil {
			return f, p, nil
		}
	}
	return nil, "", nil
}

// glyphs rasterises runes into cell masks and remembers them.
type glyphs struct {
	face     font.Face // nil: no outline font, basicfont for ASCII only
	font     *opentype.Font
	baseline int
	cache    map[glyphKey]*mask
	missing  map[rune]bool
}

type glyphKey struct {
	r    rune
	wide bool
}

// mask is a 1-bit picture: Pix[y*W+x] true means a black dot.
type mask struct {
	W, H int
	Pix  []bool
}

func newMask(w, h int) *mask { return &mask{W: w, H: h, Pix: make([]bool, w*h)} }

func (m *mask) at(x, y int) bool { return m.Pix[y*m.W+x] }

func newGlyphs(f *opentype.Font) (*glyphs, error) {
	g := &glyphs{font: f, cache: map[glyphKey]*mask{}, missing: map[rune]bool{}}
	if f == nil {
		g.face = basicfont.Face7x13
		g.baseline = 18
		return g, nil
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: cellH, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("render: font face: %w", err)
	}
	g.face = face
	m := face.Metrics()
	asc, desc := m.Ascent.Round(), m.Descent.Round()
	if asc+desc <= 0 {
		asc, desc = 20, 4
	}
	g.baseline = cellH * asc / (asc + desc)
	return g, nil
}

// has reports whether the font draws r (space always counts).
func (g *glyphs) has(r rune) bool {
	if r == ' ' || r == '\u3000' {
		return true
	}
	if r == utf8.RuneError {
		return false // bytes the encoding does not map
	}
	if g.font == nil {
		return r < 0x7F && r > 0x20
	}
	i, err := g.font.GlyphIndex(nil, r)
	return err == nil && i != 0
}

// glyph returns the mask of r in a half-width (12×24) or full-width (24×24)
// cell. A rune the font cannot draw becomes a box and is remembered in
// missing.
func (g *glyphs) glyph(r rune, wide bool) *mask {
	k := glyphKey{r, wide}
	if m, ok := g.cache[k]; ok {
		return m
	}
	w := cellW
	if wide {
		w = 2 * cellW
	}
	var m *mask
	if !g.has(r) {
		g.missing[r] = true
		m = boxMask(w, cellH)
	} else {
		m = g.draw(r, w)
	}
	g.cache[k] = m
	return m
}

// draw rasterises r at 24 px and fits its advance into a cell w dots wide:
// a glyph wider than the cell is squeezed, a narrower one centred, as a
// printer's fixed-pitch font would print it.
func (g *glyphs) draw(r rune, w int) *mask {
	adv, ok := g.face.GlyphAdvance(r)
	aw := adv.Ceil()
	if !ok || aw <= 0 {
		aw = w
	}
	cw := max(aw, w)
	img := image.NewAlpha(image.Rect(0, 0, cw, cellH))
	d := font.Drawer{Dst: img, Src: image.Opaque, Face: g.face,
		Dot: fixed.P((cw-aw)/2, g.baseline)}
	d.DrawString(string(r))
	m := newMask(w, cellH)
	for y := 0; y < cellH; y++ {
		for x := 0; x < w; x++ {
			sx := x * cw / w
			if img.AlphaAt(sx, y).A >= 0x80 {
				m.Pix[y*w+x] = true
			}
		}
	}
	return m
}

// boxMask is the outline drawn for a character without a glyph.
func boxMask(w, h int) *mask {
	m := newMask(w, h)
	x0, y0, x1, y1 := 1, 3, w-2, h-3
	for x := x0; x <= x1; x++ {
		m.Pix[y0*w+x], m.Pix[y1*w+x] = true, true
	}
	for y := y0; y <= y1; y++ {
		m.Pix[y*w+x0], m.Pix[y*w+x1] = true, true
	}
	return m
}
