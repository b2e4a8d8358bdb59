// Package winspool prints into an existing Windows print queue: each job
// is one RAW document (OpenPrinterW, StartDocPrinterW with datatype RAW,
// StartPagePrinter, WritePrinter, EndPagePrinter, EndDocPrinter), so shops
// keep the vendor driver the printer came with. Status comes from the
// queue (GetPrinterW level 2) and its jobs (EnumJobsW level 1); discovery
// from EnumPrintersW.
//
// A queue whose port points back at the agent (127.0.0.1:9100, or any of
// Config.AgentAddrs, e.g. the queue `printpay install --printer-queue`
// creates) is refused: printing into it would loop forever.
//
// The parsing of the spooler's buffers (PRINTER_INFO_2W, JOB_INFO_1W) is
// OS-neutral and unit-tested with constructed buffers; the system calls
// are in winspool_windows.go. On other systems Open returns
// drivers.ErrUnsupported.
//
// Jobs are delimited with drivers.JobPrinter; bytes written outside
// BeginJob/EndJob become one RAW document per Write.
package winspool
