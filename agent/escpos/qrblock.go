package escpos

// This file builds the block printpay inserts into a receipt: a caption
// line, the payment QR (a GS v 0 raster image by default, or the printer's
// own GS ( k symbol), an amount line, and the commands that put every
// tracked print setting back to what was in force at the splice point
// (DESIGN 2.5). The block never contains ESC @: initialising the printer
// would also reset settings the job made before the splice point that the
// parser does not track.

import (
	"errors"
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// QR modes for QROptions.Mode.
const (
	QRRaster = "raster" // GS v 0 image drawn from the QR matrix; prints on every ESC/POS printer
	QRNative = "native" // GS ( k cn=49 model 2; only for printers known to support it
)

// Errors QRBlock returns.
var (
	// ErrQRTooLarge means the URL's QR symbol does not fit the paper even
	// at one dot per module.
	ErrQRTooLarge = errors.New("escpos: qr symbol wider than the paper")
	// ErrQRMode means QROptions.Mode is neither "raster" nor "native".
	ErrQRMode = errors.New("escpos: unknown qr mode")
)

// Paper widths in dots at 203 dpi.
const (
	Paper58mm = 384
	Paper80mm = 576
)

// QROptions describes one QR block.
type QROptions struct {
	URL        string // the code_url to encode; kept ASCII by the server
	Mode       string // QRRaster (default when empty) or QRNative
	PaperDots  int    // printable width in dots: 384 (58 mm) or 576 (80 mm); 0 means 384
	ModuleSize int    // dots per QR module; 0 picks the largest that keeps the symbol within 60 % of the paper (2..8)
	AmountFen  int64  // amount due in fen; <= 0 leaves the amount line out
	Encoding   string // the job's encoding (Job.Encoding): picks the caption's language and bytes
	State      State  // print state in force at the splice point (Receipt.State), restored at the end
}

// Native QR parameters (escpos.md §8).
const (
	qrECCM         = 0x31 // GS ( k fn 69: error correction level M (15 %)
	maxNativeData  = 7089 // GS ( k fn 80: most data bytes a model 2 symbol stores
	maxNativeDots  = 16   // GS ( k fn 67: module size range 1..16
	maxRasterBand  = 255  // GS v 0 rows per command: a cap every printer accepts
	defaultPaper   = Paper58mm
	autoModuleMax  = 8
	autoModuleMin  = 2
	autoWidthShare = 60 // percent of the paper width an automatic module size may fill
)

// QRBlock returns the bytes to insert at a receipt's splice point: optional
// LF (when the splice point is mid-line), the state the block needs, the
// caption line, the QR, the amount line, and the restoring commands.
//
// Layout (raster mode, GBK job, amount 153.00, state left/normal):
//
//	1B 21 00  1D 21 00  1B 45 00  1B 2D 00  1D 42 00  1B 61 01    neutral, centred
//	CE A2 D0 C5 C9 A8 C2 EB D6 A7 B8 B6 0A                        微信扫码支付 LF
//	1D 76 30 00 xL xH yL yH d…   (one or more bands of ≤ 255 rows) the QR
//	1D 21 11  A3 A4 "153.00" 0A  1D 21 00                          ￥153.00, double size
//	1B 21 00  1D 21 00  1B 45 00  1B 2D 00  1D 42 00  1B 61 00    state at the splice point
func QRBlock(o QROptions) ([]byte, error) {
	paper := o.PaperDots
	if paper <= 0 {
		paper = defaultPaper
	}
	mode := o.Mode
	if mode == "" {
		mode = QRRaster
	}
	if mode != QRRaster && mode != QRNative {
		return nil, fmt.Errorf("%w %q", ErrQRMode, o.Mode)
	}
	q, err := qrcode.New(o.URL, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("escpos: encode qr: %w", err)
	}
	// Bitmap includes the 4-module quiet zone on each side.
	bm := q.Bitmap()
	modules := len(bm)
	size := o.ModuleSize
	if size <= 0 {
		size = paper * autoWidthShare / 100 / modules
		size = min(max(size, autoModuleMin), autoModuleMax)
	}
	for size > 1 && modules*size > paper {
		size--
	}
	if modules*size > paper {
		return nil, fmt.Errorf("%w: %d modules on %d dots", ErrQRTooLarge, modules, paper)
	}

	c := captionFor(o.Encoding, o.State)
	var b []byte
	b = append(b, blockStart(o.State)...)
	b = append(b, c.label...)
	b = append(b, '\n')
	switch mode {
	case QRRaster:
		// The image carries its own left margin to centre it on the paper;
		// printers apply ESC a to GS v 0 too, so it is sent left-justified
		// (otherwise it would be centred twice and sit right of centre).
		b = append(b, 0x1B, 0x61, 0x00)
		b = appendRasterQR(b, bm, size, paper)
		b = append(b, 0x1B, 0x61, 0x01)
	case QRNative:
		if len(o.URL) > maxNativeData {
			return nil, fmt.Errorf("%w: %d data bytes", ErrQRTooLarge, len(o.URL))
		}
		b = AppendNativeQR(b, []byte(o.URL), min(size, maxNativeDots), qrECCM)
	}
	if o.AmountFen > 0 {
		b = append(b, 0x1D, 0x21, 0x11) // GS ! 0x11: double width and height
		b = append(b, c.amount(o.AmountFen)...)
		b = append(b, '\n')
		b = append(b, 0x1D, 0x21, 0x00)
	}
	b = append(b, restore(o.State)...)
	return b, nil
}

// PaidBlock returns the block for a reprint of an order that is already
// paid: one line "已支付 ￥153.00" (or the Big5 / ASCII equivalent), centred
// and emphasised, with the same start and restore as QRBlock.
func PaidBlock(amountFen int64, encoding string, st State) []byte {
	c := captionFor(encoding, st)
	var b []byte
	b = append(b, blockStart(st)...)
	b = append(b, 0x1B, 0x45, 0x01) // ESC E 1
	b = append(b, c.paid...)
	if amountFen > 0 {
		b = append(b, ' ')
		b = append(b, c.amount(amountFen)...)
	}
	b = append(b, '\n')
	b = append(b, 0x1B, 0x45, 0x00)
	b = append(b, restore(st)...)
	return b
}

// AppendNativeQR appends the GS ( k cn=49 sequence that stores and prints a
// model 2 QR symbol, followed by LF (escpos.md §8):
//
//	1D 28 6B 04 00 31 41 32 00      fn 65: model 2
//	1D 28 6B 03 00 31 43 n          fn 67: module size n dots
//	1D 28 6B 03 00 31 45 e          fn 69: error correction (0x30 L, 0x31 M, 0x32 Q, 0x33 H)
//	1D 28 6B pL pH 31 50 30 d…      fn 80: store; pL + 256·pH = len(d) + 3
//	1D 28 6B 03 00 31 51 30         fn 81: print the stored symbol
//	0A
func AppendNativeQR(b, data []byte, moduleSize int, ecc byte) []byte {
	b = append(b, 0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00)
	b = append(b, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, byte(moduleSize))
	b = append(b, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, ecc)
	n := len(data) + 3
	b = append(b, 0x1D, 0x28, 0x6B, byte(n), byte(n>>8), 0x31, 0x50, 0x30)
	b = append(b, data...)
	b = append(b, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30)
	return append(b, '\n')
}

// appendRasterQR draws the QR matrix bm (quiet zone included) with size
// dots per module, centred on a paper of the given width by blank columns
// on the left, as GS v 0 bands of at most 255 rows:
//
//	1D 76 30 00 xL xH yL yH d…   x = bytes per row, y = rows, 1 = black, MSB leftmost
func appendRasterQR(b []byte, bm [][]bool, size, paper int) []byte {
	w := len(bm) * size
	left := (paper - w) / 2
	xBytes := (left + w + 7) / 8
	rows := len(bm) * size
	bands := (rows + maxRasterBand - 1) / maxRasterBand
	row := make([]byte, xBytes)
	for y0, band := 0, 0; band < bands; band++ {
		// Spread the rows evenly over the bands.
		y1 := rows * (band + 1) / bands
		h := y1 - y0
		b = append(b, 0x1D, 0x76, 0x30, 0x00, byte(xBytes), byte(xBytes>>8), byte(h), byte(h>>8))
		for y := y0; y < y1; y++ {
			clear(row)
			line := bm[y/size]
			for x := 0; x < w; x++ {
				if line[x/size] {
					px := left + x
					row[px/8] |= 0x80 >> (px % 8)
				}
			}
			b = append(b, row...)
		}
		y0 = y1
	}
	return b
}

// blockStart puts the printer into the state the block prints in: a fresh
// line, normal size, no emphasis, underline or reverse, centred.
func blockStart(st State) []byte {
	var b []byte
	if st.MidLine {
		b = append(b, '\n')
	}
	return append(b,
		0x1B, 0x21, 0x00, // ESC ! 0
		0x1D, 0x21, 0x00, // GS ! 0
		0x1B, 0x45, 0x00, // ESC E 0
		0x1B, 0x2D, 0x00, // ESC - 0
		0x1D, 0x42, 0x00, // GS B 0
		0x1B, 0x61, 0x01, // ESC a 1
	)
}

// restore returns the commands that put each tracked setting back to st.
// State holds the effective settings (Scan folds ESC ! into Width, Height,
// Bold and Underline), so ESC ! comes first and the finer commands after it
// restate what is in force:
//
//	1B 21 mode  1D 21 size  1B 45 bold  1B 2D underline  1D 42 reverse  1B 61 align
func restore(st State) []byte {
	w := min(max(st.Width, 1), 8)
	h := min(max(st.Height, 1), 8)
	return []byte{
		0x1B, 0x21, st.Mode,
		0x1D, 0x21, byte((w-1)<<4 | (h - 1)),
		0x1B, 0x45, b2i(st.Bold),
		0x1B, 0x2D, byte(min(max(st.Underline, 0), 2)),
		0x1D, 0x42, b2i(st.Reverse),
		0x1B, 0x61, byte(min(st.Align, AlignRight)),
	}
}

func b2i(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// caption holds the block's texts as printer bytes for one encoding.
type caption struct {
	label []byte // line above the QR
	paid  []byte // "already paid" label
	yuan  []byte // currency before the amount
}

func (c caption) amount(fen int64) []byte {
	return append(append([]byte{}, c.yuan...), formatFen(fen)...)
}

// Caption bytes. The block writes its text in the encoding the job itself
// prints in, so it never switches Chinese mode or the code page: a job whose
// Chinese text is GB (with or without FS &) proves the printer reads GB at
// that point. Under FS ( C UTF-8 the ASCII texts are used, which read the
// same in every encoding.
var (
	// 微信扫码支付 / 已支付 / ￥ in GB2312 (a subset of GBK and GB18030).
	captionGB = caption{
		label: []byte{0xCE, 0xA2, 0xD0, 0xC5, 0xC9, 0xA8, 0xC2, 0xEB, 0xD6, 0xA7, 0xB8, 0xB6},
		paid:  []byte{0xD2, 0xD1, 0xD6, 0xA7, 0xB8, 0xB6},
		yuan:  []byte{0xA3, 0xA4},
	}
	// 微信掃碼支付 / 已支付 / ￥ in Big5 (A2 44 is the full-width yen/yuan
	// sign Taiwanese and Hong Kong receipts print before amounts).
	captionBig5 = caption{
		label: []byte{0xB7, 0x4C, 0xAB, 0x48, 0xB1, 0xBD, 0xBD, 0x58, 0xA4, 0xE4, 0xA5, 0x49},
		paid:  []byte{0xA4, 0x77, 0xA4, 0xE4, 0xA5, 0x49},
		yuan:  []byte{0xA2, 0x44},
	}
	captionASCII = caption{
		label: []byte("WeChat Pay"),
		paid:  []byte("PAID"),
		yuan:  []byte("CNY "),
	}
)

func captionFor(encoding string, st State) caption {
	if st.UTF8 {
		return captionASCII
	}
	canonical, _ := LookupEncoding(encoding)
	switch canonical {
	case "gb18030":
		return captionGB
	case "big5":
		return captionBig5
	}
	return captionASCII
}

// formatFen formats an amount in fen as yuan with two decimals: 15300 →
// "153.00", 5 → "0.05", -120 → "-1.20". Integer arithmetic only.
func formatFen(fen int64) string {
	sign := ""
	u := uint64(fen)
	if fen < 0 {
		sign = "-"
		u = -u
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}
