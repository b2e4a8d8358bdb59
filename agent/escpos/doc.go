// Package escpos reads ESC/POS print jobs without changing a byte.
//
// Split is a streaming tokenizer in the manner of bufio.SplitFunc: each
// token is a view (offset, length) into the caller's bytes, classified by
// Kind and Op, and it knows every command length of the ESC/POS command
// table (ESC, GS, FS and DLE, with the variable-length image, barcode,
// 2-D symbol, user-character and NV-memory commands). Malformed input is
// tolerated: unknown commands are skipped as two bytes, a command cut short
// by the end of the data is one token marked Trunc, and declared lengths
// over MaxCommandLen are taken as corrupt.
//
// Scan reads a whole job: it tracks the print state (alignment, size,
// emphasis, code page, Chinese mode, UTF-8 mode, page mode), builds the
// printed lines (text, images, barcodes, QR codes) with their decoded text,
// splits the job into receipts at its cuts and finds, for each receipt,
// where a payment block may be spliced in (DESIGN.md §2.5), with the
// state that block must restore: at the start of a line, after the LF or
// CR LF that ends the last printed text line and before the feeds and
// state setters that precede the cut (State.MidLine only when the last
// text has no line end), and never inside or after a command whose
// declared length runs past the end of the job, which the printer reads
// to the end as its data. It recognises raster-only driver output,
// Star Line Mode jobs and captures mangled by text layers, for which
// nothing may be spliced.
//
// Text is decoded per text run with the state in force: the configured
// encoding when Options.Encoding is set; otherwise UTF-8 after FS ( C or
// when the bytes are valid multi-byte UTF-8; Chinese text (after FS &,
// high bytes in runs without an ESC t code page, or under ESC t 0 when they
// read clearly as Chinese, as Chinese printers ignore it) as GB18030, or Big5 when
// that reading is clearly more plausible (both readings are scored by the
// share of common characters, Chinese punctuation, full-width forms and
// the ideographic space; Latin-1 symbols and letters standing in Latin
// text, as in "¥ 78.00" or "Café", count for the UTF-8 reading); and the
// ESC t code page in force (CP437 by default) when neither reads as
// Chinese. Job.Encoding and Job.Warnings
// report the choice. ESC R international character sets (£ for UK, ¥ for
// China and Japan, European letters) apply to the decoded ASCII.
//
// Lines break at LF, CR (CR LF is one break), ESC d, ESC J, FF and cuts;
// HT, ESC $ and ESC \ separate columns, joined by one "\t". ESC @ clears
// the unprinted line (junk before an init is dropped, with a warning).
//
// The package is pure: no I/O, no clocks, no logging.
package escpos
