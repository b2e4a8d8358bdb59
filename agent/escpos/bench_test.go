package escpos

import (
	"bytes"
	"testing"

	"printpay.dev/printpay/internal/receiptgen"
)

// latinJob is a long text receipt without Chinese: single-byte text only.
func latinJob(b *testing.B) []byte {
	var job []byte
	for _, f := range []string{
		"zachzurn__thermal/test_receipt_1.bin",
		"receiptful__escpost/cafe-order-voucher.bin",
		"zachzurn__thermal/corrupt_start_of_binary.bin",
		"mike42__escpos-php/text-size.bin",
	} {
		job = append(job, readFile(b, corpusDir+"/"+f)...)
	}
	return bytes.Repeat(job, (1<<20)/len(job)+1)
}

// textJob is a long text receipt: the corpus text receipts one after
// another (about 1 MB).
func textJob(b *testing.B) []byte {
	var job []byte
	for _, f := range []string{
		"mike42__escpos-php/character-encodings.bin",
		"zachzurn__thermal/test_receipt_1.bin",
		"receiptful__escpost/cafe-order-voucher.bin",
		"SnailDev__SnailDev.EscPosParser/receipt-text.bin",
		"zachzurn__thermal/corrupt_start_of_binary.bin",
	} {
		job = append(job, readFile(b, corpusDir+"/"+f)...)
	}
	return bytes.Repeat(job, (1<<20)/len(job)+1)
}

// rasterJob is a driver-style job: 1 MB of GS v 0 bands (72 bytes x 24
// rows) separated by ESC J.
func rasterJob() []byte {
	band := append([]byte{0x1D, 0x76, 0x30, 0x00, 72, 0, 24, 0}, bytes.Repeat([]byte{0x5A}, 72*24)...)
	band = append(band, 0x1B, 0x4A, 24)
	return append(bytes.Repeat(band, (1<<20)/len(band)+1), 0x1D, 0x56, 0x41, 0x00)
}

func benchSplit(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(data); {
			n, _ := Split(data[off:], true)
			off += n
		}
	}
}

func benchScan(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		Scan(data, Options{})
	}
}

func BenchmarkSplitText(b *testing.B)   { benchSplit(b, textJob(b)) }
func BenchmarkSplitRaster(b *testing.B) { benchSplit(b, rasterJob()) }

// BenchmarkScanText: tokenize + decode of text receipts (goal 200 MB/s).
func BenchmarkScanText(b *testing.B) { benchScan(b, textJob(b)) }

// BenchmarkScanLatin: tokenize + decode of single-byte text receipts.
func BenchmarkScanLatin(b *testing.B) { benchScan(b, latinJob(b)) }

// BenchmarkScanRaster: raster payloads are skipped, not copied (goal 1 GB/s).
func BenchmarkScanRaster(b *testing.B) { benchScan(b, rasterJob()) }

// BenchmarkScanChinese: a GBK receipt as one job (allocations per job).
func BenchmarkScanChinese(b *testing.B) {
	src := "encoding: gbk\n\n@align center\n川味小馆\n@align left\n宫保鸡丁\t1\t38.00\n麻婆豆腐\t1\t22.00\n合计：60.00\n@cut\n"
	job, err := receiptgen.Encode([]byte(src))
	if err != nil {
		b.Fatal(err)
	}
	benchScan(b, job)
}

// BenchmarkScanReceipt: one typical receipt as one job.
func BenchmarkScanReceipt(b *testing.B) {
	benchScan(b, readFile(b, corpusDir+"/mike42__escpos-php/receipt-with-logo.bin"))
}
