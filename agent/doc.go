// Package agent wires the agent together: Run opens the spool, starts the
// raw and LPD listeners, the status server and one printing function per
// printer, and owns all of their goroutines until its context ends.
//
// The printing side is a seam: Options.Print is called once per configured
// printer with that printer's spool queue, configuration and status cache,
// and runs until its context is done. Run uses Workers: the printer's
// driver (drivers/all) opened with its profile, and an agent/worker on its
// queue; a QR source plugs in through Workers' argument. RunWith without a
// Print leaves jobs spooled as pending. The status cache handed to Print is
// the one the raw listener answers the POS from, so the driver, opened with
// drivers.Config.Cache set to it, keeps both current.
package agent
