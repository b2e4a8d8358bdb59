// Command receiptgen regenerates DIR/*.bin from the receipt sources
// DIR/*.txt (format: package printpay.dev/printpay/internal/receiptgen),
// writing a .bin only when its bytes change.
//
//	go run ./internal/receiptgen/cmd/receiptgen DIR...
package main
