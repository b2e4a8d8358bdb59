package escpos

// Options tell Scan what it cannot learn from the job.
type Options struct {
	// Encoding is the printer's configured encoding ("" = detect). Multi-byte
	// encodings (gb18030, gbk, big5, utf-8) decode all text; a single-byte
	// code page (cp437, cp858 …) replaces the default table until the job
	// selects another with ESC t.
	Encoding string
}

// Job is what Scan learned about one print job.
type Job struct {
	Encoding   string    // how text was decoded: "gb18030", "big5", "utf-8", "cp437", "cp858" …
	RasterOnly bool      // images and no text (a few stray bytes at most): driver output, passed through
	Star       bool      // Star Line Mode, not ESC/POS: passed through
	Warnings   []Warning // problems and guesses, by offset; at most 64 and a count of the rest
	Receipts   []Receipt // at least one; they tile the job in order
}

// Warning is a problem or a guess, at a byte offset of the job.
type Warning struct {
	Offset int
	Msg    string
}

// Receipt is the part of a job up to and including one cut.
//
// A job is split at its cuts. Bytes after the last cut that print nothing
// (drawer kicks, ESC @, status queries, feeds, NUL padding) belong to the
// last receipt; printable text or an image after the last cut starts a new
// receipt. Likewise a segment between two cuts that prints nothing is
// joined to the receipt before it, whose CutOffset stays its first cut
// (GS V 1 then GS V 0 is one receipt). Only a job that starts with a cut
// has a first receipt that prints nothing (ReasonNothing).
type Receipt struct {
	Index      int
	Start, End int // [Start,End) bytes of the job

	// CutOffset is the offset of the receipt's cut token, -1 when none.
	CutOffset int

	// SpliceOffset is where a QR block is inserted (DESIGN 2.5): at the
	// start of a line, before the feeds and state setters (Token.IsTail)
	// that precede the cut, or, without a cut, before the trailing feeds,
	// ESC @, drawer kicks and status queries at the end of the job. The
	// LF or CR LF that ends the last printed text line belongs to that
	// line, so the block goes after it; after an image, barcode or QR the
	// print position is already at the start of a line. It is never after
	// a command whose declared length runs past the end of the job (the
	// printer takes the rest of the job as its data). -1 when no block
	// can go in.
	SpliceOffset int
	SpliceReason string // why SpliceOffset is -1: one of the Reason constants

	// State is the print state in force at SpliceOffset: what an inserted
	// block must restore.
	State State

	Lines []Line

	// Drawer is true when the receipt opens the cash drawer (ESC p,
	// DLE DC4 fn 1), before or after its cut.
	Drawer bool
}

// Why a receipt has no splice point (Receipt.SpliceReason). A mangled
// capture's reason starts with ReasonMangled and says what was seen.
const (
	ReasonPageMode   = "page mode"            // the receipt ends inside page mode (ESC L … no FF)
	ReasonRasterOnly = "raster-only job"      // driver output: text exists only as pixels
	ReasonStar       = "Star Line Mode"       // not ESC/POS: the splice would need Star commands
	ReasonMangled    = "mangled text capture" // a text layer rewrote the bytes (EF BF BD, Latin-1 doubling)
	ReasonNothing    = "nothing printed"      // no text, image or code in the receipt
	// ReasonSwallowed: the receipt comes after a command whose declared
	// length runs past the end of the job; the printer reads all of it,
	// cuts included, as that command's data.
	ReasonSwallowed = "after a command that runs past the end of the job"
)

// Line is one printed line.
type Line struct {
	// Text is the decoded text; columns (HT, ESC $, ESC \) are joined by
	// one "\t". Trailing spaces are removed. Empty for images, barcodes and
	// QR codes.
	Text   string
	Offset int // job offset of the line's first token that printed
	Width  int // 1..8, the largest on the line
	Height int // 1..8, the largest on the line
	// Data is the payload of a barcode or QR code (as stored, e.g. "{B123"
	// for Code128 subset B).
	Data  string
	Align Align
	Bold  bool
	Kind  LineKind
}

// LineKind says what a line holds.
type LineKind uint8

const (
	LineText LineKind = iota
	LineImage
	LineBarcode
	LineQR
)

func (k LineKind) String() string {
	switch k {
	case LineText:
		return "text"
	case LineImage:
		return "image"
	case LineBarcode:
		return "barcode"
	case LineQR:
		return "qr"
	}
	return "line?"
}

// Align is the justification of a line (ESC a).
type Align uint8

const (
	AlignLeft Align = iota
	AlignCenter
	AlignRight
)

func (a Align) String() string {
	switch a {
	case AlignCenter:
		return "center"
	case AlignRight:
		return "right"
	}
	return "left"
}

// State is the print state the analyser tracks.
type State struct {
	Align     Align
	Mode      byte // last ESC ! value
	Width     int  // 1..8 (GS ! high nibble + 1, or ESC ! double width)
	Height    int  // 1..8
	Bold      bool
	Underline int  // 0, 1, 2 dots
	Reverse   bool // GS B
	CodePage  int  // ESC t n
	Chinese   bool // FS & in force
	UTF8      bool // FS ( C selected UTF-8
	// MidLine is true when printable text precedes SpliceOffset on the same
	// line (the receipt's last text has no line end before its cut or the
	// end of the job): an inserted block must then start with LF.
	MidLine bool
}

// initState is the state after power-on or ESC @.
func initState() State { return State{Width: 1, Height: 1} }
