package cloud

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/server/apiv1"
)

func sampleReceipt() apiv1.Receipt {
	return apiv1.Receipt{
		Encoding:  "gb18030",
		Lines:     []string{"老王面馆", "外卖 电话 13812345678", "宫保鸡丁\t1\t48.00", "应付 153.00"},
		AmountFen: 15300,
		OrderNo:   "A13912345678",
		Items: []apiv1.Item{
			{Name: "宫保鸡丁", Qty: "1", AmountFen: 4800},
			{Name: "备注:送到 0755-12345678", Qty: "1", AmountFen: 0},
		},
		Reason: "amount due: 应付",
	}
}

func upload(job string, idx int) apiv1.ReceiptUpload {
	return apiv1.ReceiptUpload{JobID: job, ReceiptIndex: idx, Printer: "front", PrintedAt: time.Now(), Receipt: sampleReceipt()}
}

func queuedFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "uploads", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUploadQueuedOfflineSurvivesRestartSentOncePerAck(t *testing.T) {
	fs := newFakeServer(t)
	dir := t.TempDir()
	cfg, logs := testConfig(t, fs, dir)

	// Queued while no link exists, by a client that never runs.
	c1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := c1.Upload(upload("JOB1", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := c1.QueuedUploads(); n != 3 {
		t.Fatalf("QueuedUploads = %d", n)
	}
	if n := len(queuedFiles(t, dir)); n != 3 {
		t.Fatalf("%d files", n)
	}
	// A crash mid-write leaves a temporary file; it is not an upload.
	os.WriteFile(filepath.Join(dir, "uploads", ".x.json.123.tmp"), []byte("{"), 0o600)

	// Restart: a new client on the same directory sends them.
	h := start(t, cfg, logs)
	if n := h.c.QueuedUploads(); n != 3 {
		t.Fatalf("after restart QueuedUploads = %d", n)
	}
	fc := fs.next(t)
	seen := map[int]int{}
	for i := range 3 {
		u := recvAs[*apiv1.ReceiptUpload](t, fc)
		if u.JobID != "JOB1" || u.ReceiptIndex != i || u.ID == "" {
			t.Errorf("upload %d = %+v", i, u)
		}
		seen[u.ReceiptIndex]++
		fc.send(&apiv1.Ack{Re: u.ID})
	}
	eventually(t, "an empty queue", func() bool { return h.c.QueuedUploads() == 0 && len(queuedFiles(t, dir)) == 0 })
	if h.c.Status().QueuedUploads != 0 {
		t.Error("status shows queued uploads")
	}

	// Unacked when the link drops: sent again on the next connection,
	// once, and removed after that ack.
	if err := h.c.Upload(upload("JOB2", 0)); err != nil {
		t.Fatal(err)
	}
	first := recvAs[*apiv1.ReceiptUpload](t, fc)
	fc.ws.Close()
	fc2 := fs.next(t)
	again := recvAs[*apiv1.ReceiptUpload](t, fc2)
	if again.ID != first.ID || again.JobID != "JOB2" {
		t.Errorf("resent %+v, first %+v", again, first)
	}
	fc2.send(&apiv1.Ack{Re: again.ID})
	eventually(t, "an empty queue", func() bool { return h.c.QueuedUploads() == 0 })

	// Nothing more is sent: a QR round trip is the next frame.
	go func() { answerQR(fc2, recvAs[*apiv1.QRRequest](t, fc2)) }()
	if _, err := h.c.QR(t.Context(), apiv1.QRRequest{JobID: "J"}); err != nil {
		t.Fatal(err)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("receipt %d sent %d times", k, n)
		}
	}
}

func TestUploadRefusals(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)

	// Retryable: kept and sent again after a delay.
	h.c.Upload(upload("J", 0))
	u := recvAs[*apiv1.ReceiptUpload](t, fc)
	fc.send(&apiv1.Error{Re: u.ID, Code: apiv1.CodeRateLimited, Message: "slow down", Retryable: true})
	u2 := recvAs[*apiv1.ReceiptUpload](t, fc)
	if u2.ID != u.ID {
		t.Fatalf("retry sent %s, want %s", u2.ID, u.ID)
	}
	fc.send(&apiv1.Ack{Re: u2.ID})
	eventually(t, "an empty queue", func() bool { return h.c.QueuedUploads() == 0 })

	// Not retryable: dropped, the next one goes.
	h.c.Upload(upload("J", 1))
	h.c.Upload(upload("J", 2))
	u = recvAs[*apiv1.ReceiptUpload](t, fc)
	fc.send(&apiv1.Error{Re: u.ID, Code: apiv1.CodeBadRequest, Message: "no"})
	u = recvAs[*apiv1.ReceiptUpload](t, fc)
	if u.ReceiptIndex != 2 {
		t.Fatalf("after a rejection got receipt %d", u.ReceiptIndex)
	}
	fc.send(&apiv1.Ack{Re: u.ID})
	eventually(t, "an empty queue", func() bool { return h.c.QueuedUploads() == 0 })
	if !strings.Contains(logs.String(), "rejected by the server") {
		t.Error("rejection not logged")
	}
}

func TestUploadModes(t *testing.T) {
	for _, mode := range []string{"", UploadItems, UploadFull, UploadOff} {
		t.Run("mode="+mode, func(t *testing.T) {
			dir := t.TempDir()
			cfg, _ := testConfig(t, nil, dir)
			cfg.Upload = mode
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Upload(upload("J", 0)); err != nil {
				t.Fatal(err)
			}
			files := queuedFiles(t, dir)
			if mode == UploadOff {
				if len(files) != 0 || c.QueuedUploads() != 0 {
					t.Fatalf("upload=off kept %d files", len(files))
				}
				return
			}
			if len(files) != 1 {
				t.Fatalf("%d files", len(files))
			}
			b, _ := os.ReadFile(files[0])
			m, err := apiv1.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			r := m.(*apiv1.ReceiptUpload).Receipt
			if mode == UploadFull {
				if len(r.Lines) != 4 || r.OrderNo != "A13912345678" || !strings.Contains(r.Lines[1], "13812345678") {
					t.Errorf("full changed the receipt: %+v", r)
				}
				return
			}
			want := apiv1.Receipt{
				Encoding: "gb18030", Lines: []string{}, AmountFen: 15300, OrderNo: "A139****5678",
				Items:  []apiv1.Item{{Name: "宫保鸡丁", Qty: "1", AmountFen: 4800}, {Name: "备注:送到 075*-****5678", Qty: "1"}},
				Reason: "amount due: 应付",
			}
			if got, _ := apiv1.Encode(&apiv1.ReceiptUpload{Receipt: r}); string(got) != string(must(apiv1.Encode(&apiv1.ReceiptUpload{Receipt: want}))) {
				t.Errorf("items receipt\n got %s\nwant %s", got, must(apiv1.Encode(&apiv1.ReceiptUpload{Receipt: want})))
			}
			if strings.Contains(string(b), "13812345678") || strings.Contains(string(b), "12345678\"") {
				t.Errorf("phone number on disk: %s", b)
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestUploadFullCutToFrameLimit(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfig(t, nil, dir)
	cfg.Upload = UploadFull
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := upload("J", 0)
	line := strings.Repeat("菜", 300)
	for range 400 { // ~360 KiB of lines
		u.Receipt.Lines = append(u.Receipt.Lines, line)
	}
	if err := c.Upload(u); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(queuedFiles(t, dir)[0])
	if len(b) > apiv1.MaxFrameBytes {
		t.Fatalf("frame of %d bytes", len(b))
	}
	m, err := apiv1.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	r := m.(*apiv1.ReceiptUpload).Receipt
	if n := len(r.Lines); n < 200 || n >= 404 || r.AmountFen != 15300 || len(r.Items) != 2 {
		t.Errorf("kept %d lines, amount %d, %d items", n, r.AmountFen, len(r.Items))
	}
	// Items alone too large: refused, nothing queued.
	u = upload("J", 1)
	u.Receipt.Items = []apiv1.Item{{Name: strings.Repeat("x", apiv1.MaxFrameBytes)}}
	if err := c.Upload(u); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("err = %v", err)
	}
	if c.QueuedUploads() != 1 {
		t.Errorf("QueuedUploads = %d", c.QueuedUploads())
	}
}

func TestQRRequestReceiptShaped(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)
	go func() {
		q := recvAs[*apiv1.QRRequest](t, fc)
		if q.Receipt == nil || len(q.Receipt.Lines) != 0 || q.OrderNo != "A139****5678" || q.Receipt.OrderNo != "A139****5678" {
			t.Errorf("qr.request receipt not shaped: %+v %+v", q, q.Receipt)
		}
		answerQR(fc, q)
	}()
	r := sampleReceipt()
	if _, err := h.c.QR(t.Context(), apiv1.QRRequest{JobID: "J", AmountFen: 15300, OrderNo: r.OrderNo, Receipt: &r}); err != nil {
		t.Fatal(err)
	}
	if len(r.Lines) != 4 {
		t.Error("the caller's receipt was changed")
	}
}

func TestMaskPhones(t *testing.T) {
	tests := []struct{ in, want, why string }{
		{"13812345678", "138****5678", "bare mobile"},
		{"电话13812345678", "电话138****5678", "after CJK text"},
		{"Tel: 19987654321.", "Tel: 199****4321.", "mobile in a sentence"},
		{"138 1234 5678", "138 **** 5678", "mobile written 3-4-4 with spaces"},
		{"138-1234-5678", "138-****-5678", "mobile written 3-4-4 with dashes"},
		{"0755-12345678", "075*-****5678", "landline with an area code of 4"},
		{"010-1234567", "010-***4567", "landline with an area code of 3"},
		{"021 87654321", "021 ****4321", "landline with a space"},
		{"12812345678", "12812345678", "second digit 2: not a mobile"},
		{"138123456789", "138123456789", "12 digits: not a phone"},
		{"202611261381234567", "202611261381234567", "long order number left alone"},
		{"A1024", "A1024", "short order number"},
		{"12345678", "12345678", "8 digits without an area code"},
		{"两部 13812345678 和 13987654321", "两部 138****5678 和 139****4321", "two numbers"},
		{"", "", "empty"},
		{"1381234567８", "1381234567８", "full-width digit ends the run"},
	}
	for _, tt := range tests {
		if got := MaskPhones(tt.in); got != tt.want {
			t.Errorf("%s: MaskPhones(%q) = %q, want %q", tt.why, tt.in, got, tt.want)
		}
	}
}
