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
// Printer errors follow one retry policy: the job stays first in the queue,
// the printer is reopened with backoff, and a job interrupted mid-way is
// resent whole and counted as a reprint (what a printer has physically
// printed cannot be known from what its driver accepted, and a partial
// receipt followed by its rest would be worse than a repeated one).
package worker
