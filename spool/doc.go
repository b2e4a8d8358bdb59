// Package spool is the agent's durable, per-printer FIFO of print jobs.
//
// It knows nothing of ESC/POS: a job is a byte stream with two states and a
// result record.
//
//	intake state: receiving → complete | truncated
//	print state:  pending → sending → done | failed
//
// # On disk
//
//	<dir>/lock                      exclusive lock: one agent per spool
//	<dir>/journal                   append-only job records, one per line:
//	                                "<crc32 hex> <json>\n", compacted at Open
//	<dir>/jobs/<printer>/<ULID>     a job's bytes exactly as received
//
// A printer's directory name is its name with every byte outside
// [A-Za-z0-9_-] written as %XX. Each journal line is a full snapshot of one
// job with a version number, or a removal; replay keeps the highest version
// and a removal always wins, so records may reach the file in any order.
//
// # Durability
//
// Writer.Commit syncs the job file, then its directory entry, then writes and
// syncs the "complete" record; only then does it return, so an
// acknowledgement sent after Commit never covers an unsynced job. Concurrent
// commits share their directory and journal syncs (group commit). Print state
// changes (MarkSending, MarkDone, MarkFailed, Requeue) are synced the same way;
// results and origins are written without a sync and become durable with the
// next synced record.
//
// After a crash, Open recovers: complete jobs keep their FIFO order; a job
// caught in sending goes back to pending with Reprint incremented (it is
// printed again whole); a job that was still receiving becomes truncated and
// held — it is never printed until a person calls Requeue.
//
// # For the print worker
//
// One worker per printer loops:
//
//	job, err := sp.Wait(ctx, printer)   // oldest pending, not held; may still be receiving
//	sp.MarkSending(job.ID)
//	r, err := sp.Open(ctx, job.ID)      // follows a job still being received
//	... io.Copy(printer, r) ...         // io.EOF at complete, ErrTruncated when cut off
//	sp.UpdateResult(job.ID, func(r *spool.Result) { ... })
//	sp.MarkDone(job.ID)                 // or MarkFailed(job.ID, reason)
//
// Notify(printer) gives a channel closed on the next change to that printer's
// queue, for a worker that waits on several things at once.
//
// All file access goes through FS, so tests can crash the spool at any step
// and lose every unsynced write.
package spool
