// Package receipt reads a print job into the report of `printpay inspect
// --json` (DESIGN.md §5): escpos.Scan splits the job into receipts and
// decodes their lines, rules.Decide judges each receipt, and Analyze decides
// which receipt gets the payment QR.
//
// A receipt is payable only when the rules find it payable and a QR block can
// be spliced into it: raster-only jobs, Star Line Mode jobs and receipts
// without a splice point (page mode, mangled captures) are not payable, with
// the reason.
//
// Report's JSON is a contract: payable, amount_fen, order_no and reason at
// the top are those of the receipt that gets the QR (the first payable one),
// or of the first receipt when none is payable; amount_fen and order_no are
// null when not found, cut_offset and splice_offset null when the receipt has
// none.
//
// The package is pure: no I/O.
package receipt
