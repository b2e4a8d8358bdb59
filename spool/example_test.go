package spool_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"printpay.dev/printpay/spool"
)

// Intake writes a job and commits it before acknowledging it; the print
// worker takes the oldest pending job, follows its bytes and records the
// outcome.
func Example() {
	dir, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(dir)
	sp, err := spool.Open(dir, spool.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer sp.Close()

	// Intake.
	w, err := sp.Create("front", spool.Origin{Proto: "raw", Peer: "127.0.0.1:50000"})
	if err != nil {
		log.Fatal(err) // spool.ErrFull: refuse the connection
	}
	w.Write([]byte("Total 153.00\n\x1dV\x00"))
	if err := w.Commit(); err != nil {
		log.Fatal(err)
	}

	// Print worker.
	ctx := context.Background()
	job, _ := sp.Wait(ctx, "front")
	sp.MarkSending(job.ID)
	r, _ := sp.Open(ctx, job.ID)
	data, _ := io.ReadAll(r)
	r.Close()
	sp.UpdateResult(job.ID, func(res *spool.Result) {
		res.Analyzed, res.Payable, res.AmountFen, res.QR = true, true, 15300, "spliced"
	})
	sp.MarkDone(job.ID)

	j, _ := sp.Get(job.ID)
	fmt.Printf("%q\n%s %s %s %d\n", data, j.Intake, j.State, j.Result.QR, j.Result.AmountFen)
	// Output:
	// "Total 153.00\n\x1dV\x00"
	// complete done spliced 15300
}

// After a crash, Open puts a job caught while sending back in the queue
// with its reprint count raised.
func ExampleOpen_recovery() {
	dir, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(dir)
	sp, _ := spool.Open(dir, spool.Options{})
	w, _ := sp.Create("front", spool.Origin{})
	w.Write([]byte("receipt"))
	w.Commit()
	sp.MarkSending(w.ID())
	sp.Close() // the agent stops mid-print

	sp, _ = spool.Open(dir, spool.Options{})
	defer sp.Close()
	j, _ := sp.Next("front")
	fmt.Println(j.State, j.Reprint)
	// Output: pending 1
}
