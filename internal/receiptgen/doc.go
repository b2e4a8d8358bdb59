// Package receiptgen turns a receipt written as UTF-8 text into the
// ESC/POS bytes a POS would send, so that tests can check decoding against
// the source text rather than against what the code under test produced.
//
// # Format
//
// A source starts with optional header lines `key: value`, up to the first
// blank line; the header is recognised only when the first line is one of
// the keys below, and then every line up to the blank line must be one.
//
//	encoding: gbk       raw GBK bytes, no FS & (the default)
//	          gbk-fs    GBK, FS & before the first non-ASCII text, FS . at the end
//	          gb18030   raw GB18030 bytes (four-byte characters included)
//	          big5      raw Big5 bytes
//	          utf8      raw UTF-8 bytes
//	          utf8-fsc  UTF-8 selected with FS ( C (1C 28 43 02 00 30 02) first
//	          cp437     code page 437 (the printer default, no ESC t)
//	          cp858     code page 858, selected with ESC t 19 first
//	          ascii     ASCII only
//	init: yes|no        ESC @ first (default yes)
//	crlf: yes|no        text lines end with CR LF instead of LF (default no)
//
// The body follows. Every line that does not start with `@` is printed
// text followed by LF (CR LF with crlf: yes). A TAB character becomes HT
// (09); `{col N}` becomes ESC $ nL nH (absolute position N dots). A line
// starting with `@@` prints a text line starting with `@`. The other
// lines starting with `@` are directives:
//
//	@align left|center|right   ESC a 0|1|2
//	@bold on|off               ESC E 1|0
//	@size WxH                  GS ! ((W-1)<<4 | (H-1)), W and H 1..8
//	@mode N                    ESC ! N
//	@underline on|off          ESC - 1|0
//	@feed N                    ESC d N
//	@lf N                      N line feeds (0A)
//	@cut                       GS V 65 0 (feed and full cut)
//	@cut full                  GS V 0
//	@cut partial               GS V 1
//	@cut esci                  ESC i
//	@logo W H                  GS v 0 raster image, W x H dots, a checker pattern
//	@qr TEXT                   native QR: GS ( k model 2, module 6, ECC M, store TEXT, print
//	@barcode TEXT              GS k 73 Code128, subset B ("{B" + TEXT)
//	@kick                      ESC p 0 25 250
//	@init                      ESC @
//	@raw HEX                   raw bytes, hex digits with optional spaces
//	@codepage N                ESC t N
//	@chinese on|off            FS & | FS .
//
// A trailing newline at the end of the source does not print an empty line;
// CR before LF in the source is ignored. Text that the encoding cannot
// represent is an error naming the line.
//
// The command receiptgen (./internal/receiptgen/cmd/receiptgen DIR)
// regenerates DIR/*.bin from DIR/*.txt.
package receiptgen
