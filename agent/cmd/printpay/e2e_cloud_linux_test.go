//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/agent/render"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers/profiles"
	"printpay.dev/printpay/internal/cupsd"
	"printpay.dev/printpay/internal/testenv"
)

// TestCloudPtyPrinter is issue 10's "done when" on a serial printer: a
// payable GBK receipt sent with lp comes out of the pty printer with a QR
// that zbarimg reads (from agent/render's picture of the bytes the printer
// got) as the sandbox's code_url for an order of the right amount; paying
// it in the sandbox makes the job paid: true within a second and the paid
// slip comes out of the same printer.
func TestCloudPtyPrinter(t *testing.T) {
	zbarimg := testenv.Tool(t, "zbarimg")
	testenv.Tool(t, "lp")
	if _, err := os.Stat("/usr/sbin/cupsd"); err != nil {
		testenv.Tool(t, "cupsd")
	}
	fp := newFakePrinter(t)
	p := config.DefaultPrinter()
	p.Name, p.Driver, p.Device, p.Baud, p.Profile = "front", "serial", fp.Device, 115200, "generic-80mm"
	d := clStartDemo(t, func(o *demoOptions) { o.Printer = &p })

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cups, err := cupsd.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cups.Close()
	if err := cups.AddQueue("till", "socket://"+d.Addrs.Raw[d.Printer]); err != nil {
		t.Fatal(err)
	}
	sample, err := filepath.Abs(clSample)
	if err != nil {
		t.Fatal(err)
	}
	if err := cups.LP("till", sample); err != nil {
		t.Fatalf("lp: %v\n%s", err, cups.ErrorLog())
	}
	j, _ := clWaitNew(t, d.Addrs.Status, 0, time.Now(), true)
	if j.qr() != worker.QRSpliced {
		t.Fatalf("qr %q (%s)", j.qr(), clStr(j.QRReason))
	}
	prof, err := profiles.Lookup(p.Profile)
	if err != nil {
		t.Fatal(err)
	}
	if !fp.WaitFor(func(b []byte) bool { return bytes.HasSuffix(b, []byte{0x1D, 0x56, 0x41, 0x00}) }, 10*time.Second) {
		t.Fatalf("the receipt did not reach the printer whole (%d bytes)", fp.Len())
	}
	printed := fp.Bytes(0)
	png, _, err := render.PNG(printed, render.Options{PaperDots: prof.PaperDots})
	if err != nil {
		t.Fatal(err)
	}
	pic := filepath.Join(t.TempDir(), "printed.png")
	if err := os.WriteFile(pic, png, 0o644); err != nil {
		t.Fatal(err)
	}
	codes := clScan(t, zbarimg, pic)
	codeURL, total := clSandboxOrder(t, d.SandboxAddr, j.otn())
	if len(codes) != 1 || codes[0] != codeURL || total != clSampleAmount {
		t.Fatalf("the pty printer printed QR %q; the sandbox's order %s has %q for %d fen", codes, j.otn(), codeURL, total)
	}

	clPay(t, d.SandboxAddr, j.otn())
	paidAt := time.Now()
	clWait(t, "paid: true", 10*time.Second, func() bool { return clJobByID(t, d.Addrs.Status, j.ID).Paid })
	if took := time.Since(paidAt); took > time.Second {
		t.Errorf("paid: true came %s after the payment, want within 1s", took)
	}
	slip := worker.PaidSlip(worker.Notice{JobID: j.ID, AmountFen: clSampleAmount, OrderNo: clSampleOrder, Encoding: "gb18030"}, prof.Cut)
	if !fp.WaitFor(func(b []byte) bool { return bytes.Equal(b[min(len(b), len(printed)):], slip) }, 10*time.Second) {
		t.Fatalf("after the receipt the printer got %q, want the paid slip %q", fp.Bytes(len(printed)), slip)
	}
}
