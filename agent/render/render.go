package render

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"slices"
	"strings"

	"printpay.dev/printpay/agent/escpos"
)

// Options say how to draw a job.
type Options struct {
	// PaperDots is the printable width in dots: 384 (58 mm) or 576 (80 mm);
	// 0 means 576.
	PaperDots int
	// Encoding is the printer's configured encoding ("" = what escpos.Scan
	// detects).
	Encoding string
	// FontPath names the font to draw text with (an error if it cannot be
	// read); "" searches FontPaths.
	FontPath string
	// FontPaths are searched in order for a font when FontPath is empty;
	// nil means DefaultFontPaths, an empty non-nil slice searches nothing
	// (ASCII in a basic built-in font, everything else as boxes).
	FontPaths []string
	// MaxHeight caps the picture's height in dots; 0 means DefaultMaxHeight.
	// A taller job is cut off with a note saying so.
	MaxHeight int
}

// Limits that keep the work bounded on huge or hostile jobs.
const (
	DefaultPaperDots = 576
	DefaultMaxHeight = 20000
	// maxInk caps the dots drawn in total (overdraw included), so a job
	// that positions a thousand characters on top of each other cannot make
	// a small picture expensive.
	maxInk = 50_000_000
	// detectBytes is how much of a job Scan reads to detect its encoding.
	detectBytes = 256 << 10
	// maxPieces caps what one printed line may hold before it is printed.
	maxPieces = 4096
)

// ErrPaper is returned for a paper width outside 128..4096 dots.
var ErrPaper = errors.New("render: paper width out of range")

// PNG draws data as the printer would print it and encodes the picture as a
// PNG. Warnings name what could not be drawn faithfully (missing glyphs,
// page mode, truncated commands); they never make the call fail.
func PNG(data []byte, opt Options) ([]byte, []string, error) {
	img, warns, err := Image(data, opt)
	if err != nil {
		return nil, warns, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, warns, fmt.Errorf("render: encode png: %w", err)
	}
	return buf.Bytes(), warns, nil
}

// Image draws data as the printer would print it: white paper PaperDots
// wide, black dots, a dashed tear line at every cut.
func Image(data []byte, opt Options) (*image.Gray, []string, error) {
	paper := opt.PaperDots
	if paper == 0 {
		paper = DefaultPaperDots
	}
	if paper < 128 || paper > 4096 {
		return nil, nil, fmt.Errorf("%w: %d", ErrPaper, paper)
	}
	maxH := opt.MaxHeight
	if maxH <= 0 {
		maxH = DefaultMaxHeight
	}
	paths := opt.FontPaths
	if paths == nil {
		paths = defaultFontPaths
	}
	f, fontPath, err := findFont(opt.FontPath, paths)
	if err != nil {
		return nil, nil, err
	}
	g, err := newGlyphs(f)
	if err != nil {
		return nil, nil, err
	}
	// The encoding and the command dialect show in the first receipts; a
	// bounded prefix keeps detection cheap on huge jobs.
	job := escpos.Scan(data[:min(len(data), detectBytes)], escpos.Options{Encoding: opt.Encoding})
	enc := job.Encoding
	if c, ok := escpos.LookupEncoding(opt.Encoding); ok {
		enc = c
	}
	p := newPrinter(paper, maxH, g, enc)
	if job.Star {
		p.warnf("Star Line Mode job: drawn as if it were ESC/POS, so commands may print as text")
	}
	if f == nil {
		p.warnf("no CJK font found (searched %d paths); ASCII drawn with a basic font, everything else as boxes", len(paths))
	}
	p.run(data)
	if n := len(g.missing); n > 0 {
		p.warnf("%s has no glyph for %d characters (%s); drawn as boxes", fontName(fontPath), n, runeList(g.missing))
	}
	return p.finish(), p.warnings, nil
}

func fontName(path string) string {
	if path == "" {
		return "the built-in font"
	}
	return path
}

// runeList names up to 8 runes as U+XXXX, in order.
func runeList(set map[rune]bool) string {
	rs := make([]rune, 0, len(set))
	for r := range set {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	var b strings.Builder
	for i, r := range rs {
		if i == 8 {
			b.WriteString(" …")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "U+%04X", r)
	}
	return b.String()
}
