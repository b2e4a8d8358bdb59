//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// numberedJob is a receipt that names its client and number on its first
// and last lines, so the printed stream can be parsed back into jobs.
// Payable ones end with a total due; the others are paid in cash.
func numberedJob(client, n int, payable bool, items int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\x1b@\x1ba\x01E2E C%d J%05d BEGIN\n\x1ba\x00", client, n)
	for i := range items {
		fmt.Fprintf(&b, "ITEM %04d%28s1.00\n", i, "")
	}
	fmt.Fprintf(&b, "TOTAL %d.00\n", items)
	if !payable {
		fmt.Fprintf(&b, "CASH %d.00\n", items)
	}
	fmt.Fprintf(&b, "E2E C%d J%05d END\n\n\n\x1dVA\x00", client, n)
	return b.Bytes()
}

var endMark = regexp.MustCompile(`E2E C(\d+) J(\d+) END`)

// printedJob is one complete print of a numbered job.
type printedJob struct{ Client, N int }

// parsePrinted returns the numbered jobs printed whole, in print order.
func parsePrinted(b []byte) []printedJob {
	var out []printedJob
	for _, m := range endMark.FindAllSubmatch(b, -1) {
		c, _ := strconv.Atoi(string(m[1]))
		n, _ := strconv.Atoi(string(m[2]))
		out = append(out, printedJob{c, n})
	}
	return out
}

// sendRawTimed sends a raw job and returns when the client finished
// writing it (the job's end as the POS sees it) and whether the agent then
// closed the connection cleanly.
func sendRawTimed(addr string, payload []byte) (time.Time, bool) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return time.Time{}, false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(payload); err != nil {
		return time.Time{}, false
	}
	end := time.Now()
	c.(*net.TCPConn).CloseWrite()
	_, err = io.Copy(io.Discard, c)
	return end, err == nil
}

// checkOrder checks that each client's jobs were printed in the order it
// sent them (a job may repeat right after itself when it was resent).
func checkOrder(t *testing.T, printer string, jobs []printedJob) {
	t.Helper()
	last := map[int]int{}
	for _, j := range jobs {
		prev, seen := last[j.Client]
		if seen && j.N < prev {
			t.Errorf("%s: client %d job %d printed after its job %d", printer, j.Client, j.N, prev)
		}
		last[j.Client] = j.N
	}
}

func describeJobs(jobs []printedJob) string {
	var s []string
	for _, j := range jobs {
		s = append(s, fmt.Sprintf("C%dJ%d", j.Client, j.N))
	}
	return strings.Join(s, " ")
}
