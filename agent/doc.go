// Package agent wires the agent together: Run opens the spool, starts the
// raw and LPD listeners, the status server and one printing function per
// printer, and owns all of their goroutines until its context ends.
//
// The printing side is a seam: Options.Print is called once per configured
// printer with that printer's spool queue, configuration and status cache,
// and runs until its context is done. Without it (the default until the
// print worker is wired) jobs spool and list as pending. The status cache
// handed to Print is the one the raw listener answers the POS from, so a
// driver opened with drivers.Config.Cache set to it keeps both current.
package agent
