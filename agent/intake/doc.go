// Package intake is how jobs reach the agent: a raw TCP (AppSocket, port
// 9100) listener that also answers the POS's status queries, and an LPD
// (RFC 1179) listener. Both write into the spool.
//
// # Raw
//
// A raw job is what one connection carries, split further only by silence:
// after IdleTimeout when the job so far ends with a cut (drawer kicks,
// ESC @, feeds and status queries after the cut do not count), after
// IdleTimeoutNoCut otherwise. A connection that closes with zero bytes, or
// carries only real-time status commands (DLE EOT, GS r, GS I, GS a, GS ( H,
// DLE ENQ, DLE DC4), is not a job: no spool entry is made. Status queries
// inside a job stay in the job's bytes (the printer answers them too; its
// answers feed the status cache), but the POS gets its answer from intake
// at once, from the printer's drivers.StatusCache:
//
//	DLE EOT 1   0x16 online, 0x1E otherwise
//	DLE EOT 2   0x12 +0x04 cover open +0x20 paper out +0x40 error
//	DLE EOT 3   0x12 +0x20 error
//	DLE EOT 4   0x12 +0x0C paper near end +0x60 paper out
//	GS r 1/49   0x00 +0x03 paper near end +0x0C paper out
//	GS r 2/50, GS r 4/52   0x00
//	GS I n      printer ID bytes, or "_" string NUL for n = 65..69
//	GS a n≠0    a 4-byte Automatic Status Back block now and on each change
//	GS ( H fn48 37 22 d1 d2 d3 d4 00, after the bytes before it are spooled
//
// DLE ENQ and DLE DC4 get no answer. An unknown status is answered as the
// configured status_reply (online by default). Commands are found with
// escpos.Split, so the same bytes inside image data are never taken for a
// query.
//
// # LPD
//
// Receive-job with control and data files in either order (each data file
// is one job; count 0 reads to end of stream), short and long queue state,
// and remove-jobs. A data file is committed to the spool (fsynced) before
// its final acknowledgement. The queue name picks the printer; an unknown
// queue goes to the first printer, logged. No privileged source port is
// required.
//
// # Limits
//
// MaxJobBytes (a bigger job is kept as truncated and the connection
// closed), MaxConnections across all listeners (more are closed at once),
// read deadlines, JobTimeout, and the spool's free-space floor
// (spool.ErrFull: the connection is closed or the data file refused).
// Every refusal is logged with the peer and the reason.
package intake
