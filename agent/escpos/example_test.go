package escpos_test

import (
	"fmt"

	"printpay.dev/printpay/agent/escpos"
)

// A GBK receipt in Chinese mode: two lines, a total in two columns, feeds
// and a cut. Scan finds the lines and the splice point at the start of
// the line after the total, before the feeds.
func ExampleScan() {
	job := []byte("\x1b@\x1c&" + // ESC @, FS & (Chinese mode)
		"\x1ba\x01\xb2\xe8\xb9\xdd\n" + // ESC a 1, 茶馆 (GBK), LF
		"\x1ba\x00\x1b\x45\x01\xba\xcf\xbc\xc6\x1b$\xc8\x0068.00\n" + // bold 合计 ESC $ 200 68.00
		"\x1bd\x03\x1dVA\x00") // ESC d 3, GS V 65 0
	j := escpos.Scan(job, escpos.Options{})
	r := j.Receipts[0]
	fmt.Println("encoding:", j.Encoding)
	for _, l := range r.Lines {
		fmt.Printf("%-6s bold=%-5v %q\n", l.Align, l.Bold, l.Text)
	}
	fmt.Println("cut:", r.CutOffset, "splice:", r.SpliceOffset, "mid-line:", r.State.MidLine, "bold:", r.State.Bold)
	// Output:
	// encoding: gb18030
	// center bold=false "茶馆"
	// left   bold=true  "合计\t68.00"
	// cut: 35 splice: 32 mid-line: false bold: true
}

// Split tokenizes a stream as it arrives: n == 0 asks for more bytes.
func ExampleSplit() {
	stream := [][]byte{[]byte("Hi\n\x1d"), []byte("V"), []byte("A\x03")}
	var buf []byte
	for i, chunk := range stream {
		buf = append(buf, chunk...)
		atEOF := i == len(stream)-1
		for len(buf) > 0 {
			n, t := escpos.Split(buf, atEOF)
			if n == 0 {
				break // the start of a command: wait for more
			}
			fmt.Printf("%v %v % X\n", t.Kind, t.Op, buf[:n])
			buf = buf[n:]
		}
	}
	// Output:
	// text none 48 69
	// ctrl LF 0A
	// cmd cut 1D 56 41 03
}
