//go:build linux

package main

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"printpay.dev/printpay/agent/receipt"
	"printpay.dev/printpay/agent/worker"
)

// TestE2EStallingQRSource: with a QR source that stalls past qr_budget, a
// payable receipt prints unchanged within qr_budget + 100 ms of the job's
// end at the client; the job's qr stays null while the answer is awaited,
// and becomes "late" when the code comes after all (DESIGN §2.2, §6.2).
func TestE2EStallingQRSource(t *testing.T) {
	fp := newFakePrinter(t)
	const budget = 500 * time.Millisecond
	a := startE2E(t, e2eSetup{Server: "local:stall=2s", QRBudget: budget.String(), Printers: []e2ePrinter{{Name: "front", Device: fp.Device}}})
	known := map[string]bool{}
	var ids []string
	for n := range 3 {
		job := numberedJob(0, n, true, 10)
		start := fp.Len()
		end, ok := sendRawTimed(a.Raw, job)
		if !ok {
			t.Fatal("the agent did not take the job")
		}
		if !fp.WaitLen(start+len(job), 5*time.Second) {
			t.Fatalf("job %d: printer got %d of %d bytes", n, fp.Len()-start, len(job))
		}
		took := fp.Last().Sub(end)
		if got := fp.Bytes(start); !bytes.Equal(got, job) {
			t.Fatalf("job %d printed %d bytes, want the job unchanged (%d bytes)", n, len(got), len(job))
		}
		t.Logf("job %d: job end -> last byte %v", n, took)
		if took > budget+100*time.Millisecond {
			t.Errorf("job %d: last byte %v after the job's end, want within qr_budget + 100ms", n, took)
		}
		if took < budget-50*time.Millisecond {
			t.Errorf("job %d: last byte %v after the job's end: the tail did not wait for the QR budget", n, took)
		}
		jobs := a.waitJobs(t, 5*time.Second, func(jobs []e2eJob) bool {
			for _, j := range jobs {
				if !known[j.ID] && j.State == "done" {
					known[j.ID] = true
					ids = append(ids, j.ID)
					if j.QR != nil {
						t.Errorf("job %d: qr %q while the late answer is awaited, want null", n, *j.QR)
					}
					return true
				}
			}
			return false
		})
		if jobs == nil {
			t.Fatalf("job %d not done", n)
		}
	}
	jobs := a.waitJobs(t, 10*time.Second, func(jobs []e2eJob) bool {
		for _, j := range jobs {
			if j.QR == nil {
				return false
			}
		}
		return true
	})
	if jobs == nil {
		t.Fatal("the QR outcome is still open 10s after the source's stall")
	}
	for _, j := range jobs {
		if *j.QR != worker.QRLate || j.Receipts[0].QR != worker.QRLate {
			t.Errorf("job %s: qr %q (%v), want %q", j.ID, *j.QR, deref(j.QRReason), worker.QRLate)
		}
	}
}

// TestE2EQRSourceFails: a QR source that errors leaves the receipt as it
// came, at once, with qr "error".
func TestE2EQRSourceFails(t *testing.T) {
	fp := newFakePrinter(t)
	a := startE2E(t, e2eSetup{Server: "local:fail", Printers: []e2ePrinter{{Name: "front", Device: fp.Device}}})
	job := numberedJob(0, 1, true, 10)
	if !sendRawAck(a.Raw, job) {
		t.Fatal("the agent did not take the job")
	}
	jobs := a.waitJobs(t, 5*time.Second, func(jobs []e2eJob) bool { return len(jobs) == 1 && jobs[0].final() })
	if jobs == nil {
		t.Fatal("job not printed")
	}
	if *jobs[0].QR != worker.QRError {
		t.Errorf("qr %q, want %q", *jobs[0].QR, worker.QRError)
	}
	if !fp.WaitLen(len(job), 5*time.Second) || !bytes.Equal(fp.Bytes(0), job) {
		t.Errorf("printed %q, want the job unchanged", fp.Bytes(0))
	}
}

// TestE2EPrinterOffline: the printer is gone while 100 jobs are queued;
// they all print, in order and once, when it is back.
func TestE2EPrinterOffline(t *testing.T) {
	fp := newFakePrinter(t)
	a := startE2E(t, e2eSetup{Server: "local:", Printers: []e2ePrinter{{Name: "front", Device: fp.Device}}})
	if !sendRawAck(a.Raw, numberedJob(0, 0, false, 3)) || !fp.WaitFor(func(b []byte) bool { return len(parsePrinted(b)) == 1 }, 5*time.Second) {
		t.Fatal("the first job did not print")
	}
	fp.gone()
	for n := 1; n <= 100; n++ {
		if !sendRawAck(a.Raw, numberedJob(0, n, n%4 == 0, 3+n%7)) {
			t.Fatalf("job %d refused while the printer is gone", n)
		}
	}
	time.Sleep(1500 * time.Millisecond) // gone for a while
	if err := a.statusOK(time.Second); err != nil {
		t.Fatalf("status while the printer is gone: %v", err)
	}
	pending := 0
	for _, j := range a.apiJobs(t) {
		if j.State != "done" {
			pending++
		}
	}
	if pending != 100 {
		t.Errorf("%d jobs waiting while the printer is gone, want 100", pending)
	}
	fp.back()
	if !fp.WaitFor(func(b []byte) bool { return len(parsePrinted(b)) >= 101 }, 40*time.Second) {
		t.Fatalf("after the printer came back: %d of 101 jobs printed", len(parsePrinted(fp.Bytes(0))))
	}
	time.Sleep(100 * time.Millisecond)
	got := parsePrinted(fp.Bytes(0))
	if len(got) != 101 {
		t.Fatalf("%d jobs printed, want 101: %s", len(got), describeJobs(got))
	}
	for i, p := range got {
		if p.N != i {
			t.Fatalf("print %d is job %d: %s", i, p.N, describeJobs(got))
		}
	}
}

// TestE2EBadPrinter: one printer stalls, disappears mid-job, answers
// garbage and floods its back channel, and gets a job of 50 receipts,
// while the other keeps printing and the status API keeps answering;
// every accepted job prints.
func TestE2EBadPrinter(t *testing.T) {
	front, kitchen := newFakePrinter(t), newFakePrinter(t)
	kitchenRaw := freeAddr(t)
	a := startE2E(t, e2eSetup{Server: "local:", Printers: []e2ePrinter{
		{Name: "front", Device: front.Device},
		{Name: "kitchen", Device: kitchen.Device, Raw: kitchenRaw},
	}})

	// The status API answers within a second all along.
	stopPoll := make(chan struct{})
	var pollWG sync.WaitGroup
	var polls, slow atomic.Int64
	pollWG.Add(1)
	go func() {
		defer pollWG.Done()
		for {
			select {
			case <-stopPoll:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if err := a.statusOK(time.Second); err != nil {
				slow.Add(1)
				t.Errorf("/api/status: %v", err)
			}
			polls.Add(1)
		}
	}()
	defer func() {
		close(stopPoll)
		pollWG.Wait()
		t.Logf("/api/status answered %d polls, %d failed", polls.Load(), slow.Load())
	}()

	kitchenN := 0
	kitchenJobs := func(n int) {
		t.Helper()
		for range n {
			if !sendRawAck(kitchenRaw, numberedJob(1, kitchenN, kitchenN%2 == 0, 4)) {
				t.Fatalf("kitchen job %d refused", kitchenN)
			}
			kitchenN++
		}
		want := kitchenN
		if !kitchen.WaitFor(func(b []byte) bool { return len(parsePrinted(b)) >= want }, 5*time.Second) {
			t.Fatalf("kitchen printed %d of %d jobs while front misbehaves", len(parsePrinted(kitchen.Bytes(0))), want)
		}
	}
	frontN := 0
	frontJob := func(items int, payable bool) []byte {
		j := numberedJob(0, frontN, payable, items)
		if !sendRawAck(a.Raw, j) {
			t.Fatalf("front job %d refused", frontN)
		}
		frontN++
		return j
	}
	waitFront := func(what string) {
		t.Helper()
		want := frontN
		if !front.WaitFor(func(b []byte) bool {
			seen := map[int]bool{}
			for _, p := range parsePrinted(b) {
				seen[p.N] = true
			}
			return len(seen) >= want
		}, 30*time.Second) {
			t.Fatalf("%s: front printed %s, want jobs 0..%d", what, describeJobs(parsePrinted(front.Bytes(0))), want-1)
		}
	}

	// Stalls: the printer stops reading in the middle of a large job.
	front.Silent(true)
	frontJob(6000, false) // ~250 KB: more than the pty holds
	kitchenJobs(5)
	time.Sleep(time.Second)
	front.Silent(false)
	waitFront("after a stall")

	// Disappears mid-job: the job is sent again whole, marked as a reprint.
	front.Silent(true)
	frontJob(6000, false)
	start := front.Len()
	front.WaitFor(func(b []byte) bool { return len(b) > start }, 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	front.gone()
	kitchenJobs(5)
	time.Sleep(500 * time.Millisecond)
	front.Silent(false)
	front.back()
	waitFront("after disappearing")

	// Garbage on the back channel, then a flood of it.
	front.Garbage(true)
	for range 3 {
		frontJob(3, true)
	}
	waitFront("answering garbage")
	front.Garbage(false)
	front.Flood(true)
	for range 3 {
		frontJob(3, false)
	}
	kitchenJobs(3)
	waitFront("flooding its back channel")
	front.Flood(false)

	// A job of 50 receipts: each prints, the first payable one with a QR.
	var big bytes.Buffer
	first := frontN
	for range 50 {
		big.Write(numberedJob(0, frontN, frontN%2 == 1, 3))
		frontN++
	}
	before := front.Len()
	if !sendRawAck(a.Raw, big.Bytes()) {
		t.Fatal("the 50-receipt job was refused")
	}
	waitFront("50 receipts")
	jobs := a.waitJobs(t, 5*time.Second, func(jobs []e2eJob) bool { return jobs[len(jobs)-1].final() })
	if jobs == nil {
		t.Fatal("the 50-receipt job is not final")
	}
	j := jobs[len(jobs)-1]
	if len(j.Receipts) != 50 || *j.QR != worker.QRSpliced || j.Reprint != 0 {
		t.Fatalf("50-receipt job: %d receipts, qr %v, reprint %d", len(j.Receipts), deref(j.QR), j.Reprint)
	}
	want, err := worker.Printed(big.Bytes(), worker.Result{Encoding: receipt.Analyze(big.Bytes(), receipt.Options{}).Encoding, Receipts: j.Receipts}, e2eWorkerConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !front.WaitLen(before+len(want), 5*time.Second) || !bytes.Equal(front.Bytes(before), want) {
		t.Fatalf("the 50-receipt job printed %d bytes, want %d (first difference at %d)", front.Len()-before, len(want), firstDiff(front.Bytes(before), want))
	}
	printed50 := parsePrinted(front.Bytes(before))
	for i, p := range printed50 {
		if p.N != first+i {
			t.Fatalf("50-receipt job printed %s", describeJobs(printed50))
		}
	}

	// Everything accepted printed, in order; only the job resent after the
	// printer disappeared printed twice, and it is marked as a reprint.
	got := parsePrinted(front.Bytes(0))
	checkOrder(t, "front", got)
	count := map[int]int{}
	for _, p := range got {
		count[p.N]++
	}
	for n := range frontN {
		if count[n] == 0 || count[n] > 1 && n != 1 {
			t.Errorf("front job %d printed %d times", n, count[n])
		}
	}
	reprints := 0
	for _, j := range a.apiJobs(t) {
		if j.State != "done" {
			t.Errorf("job %s on %s: %s", j.ID, j.Printer, j.State)
		}
		reprints += j.Reprint
	}
	if count[1] > 1 && reprints == 0 {
		t.Errorf("front job 1 printed %d times but no job is marked as a reprint", count[1])
	}
	if reprints == 0 {
		// The printer disappeared mid-job: the job is sent again whole, and
		// the spool counts it (spool.MarkResend).
		t.Error("the job resent after the printer disappeared mid-job shows reprint 0 in /api/jobs")
	}
	if k := parsePrinted(kitchen.Bytes(0)); len(k) != kitchenN {
		t.Errorf("kitchen printed %d jobs, want %d", len(k), kitchenN)
	}
	t.Logf("front: %d jobs, job 1 printed %d times (reprints marked: %d); kitchen: %d jobs", frontN, count[1], reprints, kitchenN)
}
