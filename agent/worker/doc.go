// Package worker prints one printer's jobs: it is the only writer to that
// printer's drivers.Printer.
//
// A job's bytes are forwarded as they arrive. The worker holds back only what
// could still precede a QR block — feeds, state setters, ESC @ and status
// queries — until a content token makes them flow or a cut makes them the
// receipt's tail. At each cut (or at the end of a job without one) the
// receipt is analysed; a payable receipt asks the QRSource for a code within
// the QR budget, which runs from the cut, while the printer is still printing
// the body. The block is spliced before the tail, then the tail and the cut
// follow. When the source is unavailable, the job is older than the QR
// maximum age, or the budget runs out, the receipt prints as it came.
//
// The job is marked as sending (Queue.Sending, a sync in the spool) while
// its first bytes are read and analysed; no byte reaches the printer before
// the mark is done, so a crash after the first byte always finds the job
// marked and reprints it as a reprint. One analysis of everything read so
// far serves every cut in it, so a job of many receipts that arrives at once
// is analysed once rather than once per cut; receipts that trickle in one
// read at a time are still analysed from the job's start at each cut (the
// job's encoding and the print state at a splice point depend on everything
// before it), which costs time quadratic in the number of such receipts.
//
// Printer errors follow one retry policy: the job stays first in the queue,
// the printer is reopened with backoff, and a job interrupted mid-way is
// resent whole and counted as a reprint (what a printer has physically
// printed cannot be known from what its driver accepted, and a partial
// receipt followed by its rest would be worse than a repeated one); the
// resend prints the QR codes its first attempt obtained, without asking the
// source again. The
// count reaches the Queue through Sending; the spool queue (SpoolQueue)
// cannot record it for a job that is already sending, so /api/jobs shows
// such a resend with the reprint count of its last crash recovery only.
package worker
