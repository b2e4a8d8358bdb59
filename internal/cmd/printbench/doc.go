//go:build linux

// Command printbench times print latency the way a shop feels it: from the
// end of a job (the POS closing its connection, or lp returning) to the last
// byte arriving at the printer device, a pty whose far end this program
// reads. It drives printpay, p910nd (a plain pass-through) and a CUPS raw
// queue the same way, so their figures stand side by side, and it can target
// any raw 9100 address whose output goes to the pty it prints (-target ADDR).
// -target all runs printpay (non-payable and payable, with the local QR
// source) and, when installed, p910nd and CUPS, and prints their figures
// side by side.
//
//	printbench [-jobs N] [-size BYTES] [-payable] [-target all|printpay|p910nd|cups|ADDR] [-printpay BIN] [-spool DIR]
//
// printpay syncs each job to its spool before it prints (the Sending
// mark), so its figures include one fsync of the disk holding -spool; a
// tmpfs there (e.g. /dev/shm) shows the processing alone.
package main
