//go:build linux

package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestE2ECrash sends 200 uniquely numbered jobs to two printers over raw
// TCP and LPD while the agent is killed with SIGKILL at random points and
// restarted. Afterwards every acknowledged job has printed, in order per
// printer; a job printed twice is marked as a reprint; nothing else printed
// twice.
func TestE2ECrash(t *testing.T) {
	front, kitchen := newFakePrinter(t), newFakePrinter(t)
	kitchenRaw := freeAddr(t)
	a := startE2E(t, e2eSetup{Server: "local:", Printers: []e2ePrinter{
		{Name: "front", Device: front.Device},
		{Name: "kitchen", Device: kitchen.Device, Raw: kitchenRaw},
	}})
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	// Four clients of 50 jobs each: raw and LPD to each printer.
	type client struct {
		printer string
		send    func(job []byte) (ack bool, raw bool)
	}
	clients := []client{
		{"front", func(j []byte) (bool, bool) { return sendRawAck(a.Raw, j), true }},
		{"kitchen", func(j []byte) (bool, bool) { return sendLPDAck(a.LPD, "kitchen", j), false }},
		{"front", func(j []byte) (bool, bool) { return sendLPDAck(a.LPD, "front", j), false }},
		{"kitchen", func(j []byte) (bool, bool) { return sendRawAck(kitchenRaw, j), true }},
	}
	const perClient = 50

	var mu sync.Mutex
	var kills []time.Time          // when each kill began
	acked := map[printedJob]bool{} // jobs whose acknowledgement counts
	killedDuring := func(from, to time.Time) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range kills {
			if !k.Before(from) && !k.After(to) {
				return true
			}
		}
		return false
	}
	var wg sync.WaitGroup
	for ci, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perClient {
				job := numberedJob(ci, n, n%3 == 0, 5+n%20)
				from := time.Now()
				ok, raw := c.send(job)
				to := time.Now()
				// A raw job's only acknowledgement is the agent's close
				// after its commit; a close seen while the agent was being
				// killed may be the kernel's.
				if ok && (!raw || !killedDuring(from, to)) {
					mu.Lock()
					acked[printedJob{ci, n}] = true
					mu.Unlock()
				}
				// A shop's pace, so that the kills fall among the jobs.
				time.Sleep(time.Duration(10+rand.IntN(50)) * time.Millisecond)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	nkills := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(time.Duration(100+rng.IntN(300)) * time.Millisecond):
			mu.Lock()
			kills = append(kills, time.Now())
			mu.Unlock()
			a.kill()
			nkills++
			a.restart(t)
		}
	}
	if nkills == 0 { // the clients were too quick: kill once after all
		a.kill()
		nkills++
		a.restart(t)
	}

	// Wait for every complete job to print.
	jobs := a.waitJobs(t, 30*time.Second, func(jobs []e2eJob) bool {
		for _, j := range jobs {
			if j.Intake == "complete" && j.State != "done" {
				return false
			}
		}
		return true
	})
	if jobs == nil {
		var stuck []string
		for _, j := range a.apiJobs(t) {
			if j.Intake == "complete" && j.State != "done" {
				stuck = append(stuck, j.Printer+"/"+j.ID+":"+j.State)
			}
		}
		t.Fatalf("%d jobs still unprinted 30s after the last restart: %v", len(stuck), stuck[:min(len(stuck), 6)])
	}
	reprinted := map[printedJob]bool{}
	for _, j := range jobs {
		if j.Reprint == 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(a.Dir, "spool", "jobs", j.Printer, j.ID))
		if err != nil {
			t.Fatalf("reprinted job %s: %v", j.ID, err)
		}
		for _, p := range parsePrinted(b) {
			reprinted[p] = true
		}
	}
	time.Sleep(100 * time.Millisecond) // the last bytes on their way through the ptys
	mu.Lock()
	defer mu.Unlock()
	printedOn := map[printedJob]string{}
	for _, fp := range []struct {
		name string
		fp   *fakePrinter
	}{{"front", front}, {"kitchen", kitchen}} {
		got := parsePrinted(fp.fp.Bytes(0))
		checkOrder(t, fp.name, got)
		count := map[printedJob]int{}
		for _, p := range got {
			count[p]++
			if want := clients[p.Client].printer; want != fp.name {
				t.Errorf("client %d job %d printed on %s, want %s", p.Client, p.N, fp.name, want)
			}
			printedOn[p] = fp.name
		}
		for p, n := range count {
			if n > 1 && !reprinted[p] {
				t.Errorf("%s: client %d job %d printed %d times, not marked as a reprint", fp.name, p.Client, p.N, n)
			}
		}
	}
	for p := range acked {
		if printedOn[p] == "" {
			t.Errorf("acknowledged job: client %d job %d never printed (%s)", p.Client, p.N, jobOf(t, a, jobs, p))
		}
	}
	if len(acked) < perClient {
		t.Errorf("only %d jobs acknowledged: the test proves little", len(acked))
	}
	t.Logf("%d kills; %d of %d jobs acknowledged, all printed; %d printed in all; %d jobs reprinted (marked)",
		nkills, len(acked), len(clients)*perClient, len(printedOn), len(reprinted))
}

// jobOf describes the spooled job that holds p.
func jobOf(t *testing.T, a *e2eAgent, jobs []e2eJob, p printedJob) string {
	for _, j := range jobs {
		b, err := os.ReadFile(filepath.Join(a.Dir, "spool", "jobs", j.Printer, j.ID))
		if err != nil {
			continue
		}
		for _, q := range parsePrinted(b) {
			if q == p {
				return fmt.Sprintf("job %s on %s: intake %s, state %s, reprint %d", j.ID, j.Printer, j.Intake, j.State, j.Reprint)
			}
		}
	}
	return "not in the spool"
}
