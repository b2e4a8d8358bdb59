// Package cupsd runs a private CUPS scheduler for tests and benchmarks, so
// that real `lp`, `lpr` and the CUPS socket and lpd backends print to
// printpay's listeners without touching the machine's own CUPS.
//
// The scheduler listens only on a unix socket in its own folder (root is
// authorised there by peer credentials); its ServerRoot, spool, state and
// logs live in that folder too. It follows the recipe in platform.md §2.
package cupsd
