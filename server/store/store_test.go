package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"printpay.dev/printpay/server/store"
	"printpay.dev/printpay/server/store/storetest"
)

// clock is a settable clock for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openSQLite(t *testing.T) *store.Store {
	dsn := storetest.SQLiteDSN(t)
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openPostgres gives each test its own schema, dropped afterwards.
func openPostgres(t *testing.T) *store.Store {
	s, err := store.Open(context.Background(), storetest.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var backends = []struct {
	name string
	open func(t *testing.T) *store.Store
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

// TestStore runs the same suite on every backend.
func TestStore(t *testing.T) {
	suite := []struct {
		name string
		fn   func(t *testing.T, s *store.Store, c *clock)
	}{
		{"Migrate", testMigrate},
		{"Merchants", testMerchants},
		{"Enroll", testEnroll},
		{"PairingLimit", testPairingLimit},
		{"Orders", testOrders},
		{"PaidDeliveries", testPaidDeliveries},
		{"Receipts", testReceipts},
		{"Rules", testRules},
		{"ConcurrentCreate", testConcurrentCreate},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range suite {
				t.Run(tc.name, func(t *testing.T) {
					s := b.open(t)
					c := &clock{t: time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)}
					s.SetClock(c.now)
					if _, err := s.Migrate(context.Background()); err != nil {
						t.Fatal(err)
					}
					tc.fn(t, s, c)
				})
			}
		})
	}
}

func testMigrate(t *testing.T, s *store.Store, _ *clock) {
	ctx := context.Background()
	n, err := s.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second migrate: %d %v", n, err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != 1 {
		t.Fatalf("version %d %v", v, err)
	}
}

func mustMerchant(t *testing.T, s *store.Store, id string) store.Merchant {
	t.Helper()
	m, err := s.PutMerchant(context.Background(), store.Merchant{ID: id, Name: "Shop " + id})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustDevice(t *testing.T, s *store.Store, merchantID string) (store.Device, string) {
	t.Helper()
	ctx := context.Background()
	code, _, err := s.NewPairingCode(ctx, merchantID)
	if err != nil {
		t.Fatal(err)
	}
	d, tok, err := s.Enroll(ctx, code, "127.0.0.1", "till", "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	return d, tok
}

func testMerchants(t *testing.T, s *store.Store, _ *clock) {
	ctx := context.Background()
	m := mustMerchant(t, s, "m1")
	want := store.Merchant{ID: "m1", Name: "Shop m1", Mode: "direct", AmountCapFen: 500000, Timezone: "Asia/Shanghai", BusinessDayStarts: "04:00"}
	m.CreatedAt = time.Time{}
	if m != want {
		t.Fatalf("defaults:\n got %+v\nwant %+v", m, want)
	}
	// Replace settings.
	_, err := s.PutMerchant(ctx, store.Merchant{ID: "m1", Name: "面馆", Mode: "partner", MchID: "1900000109", SubMchID: "1900000110",
		PlatformCerts: true, AmountCapFen: 1000, Timezone: "Asia/Urumqi", BusinessDayStarts: "05:30"})
	if err != nil {
		t.Fatal(err)
	}
	m, _ = s.Merchant(ctx, "m1")
	if m.Name != "面馆" || !m.PlatformCerts || m.AmountCapFen != 1000 || m.SubMchID != "1900000110" || m.BusinessDayStarts != "05:30" {
		t.Fatalf("replaced: %+v", m)
	}
	if _, err := s.Merchant(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing merchant: %v", err)
	}
	if _, err := s.PutMerchant(ctx, store.Merchant{ID: "m2", BusinessDayStarts: "25:00"}); err == nil {
		t.Fatal("bad day start accepted")
	}
	mustMerchant(t, s, "m0")
	all, err := s.Merchants(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "m0" {
		t.Fatalf("merchants: %v %v", all, err)
	}
}

func testEnroll(t *testing.T, s *store.Store, c *clock) {
	ctx := context.Background()
	mustMerchant(t, s, "m1")
	code, exp, err := s.NewPairingCode(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 10 || strings.Trim(code, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" {
		t.Fatalf("code %q is not 10 Crockford characters", code)
	}
	if !exp.Equal(c.now().Add(24 * time.Hour)) {
		t.Fatalf("expires %v", exp)
	}
	if _, _, err := s.NewPairingCode(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("code for unknown merchant: %v", err)
	}
	// Typed in lower case with a dash: still the code.
	typed := strings.ToLower(code[:5] + "-" + code[5:])
	d, tok, err := s.Enroll(ctx, typed, "10.0.0.1", "till-1", "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if d.MerchantID != "m1" || !strings.HasPrefix(d.ID, "dev_") || len(tok) < 40 {
		t.Fatalf("device %+v token %q", d, tok)
	}
	got, err := s.DeviceByToken(ctx, tok)
	if err != nil || got.ID != d.ID {
		t.Fatalf("by token: %+v %v", got, err)
	}
	if _, err := s.DeviceByToken(ctx, tok+"x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("wrong token: %v", err)
	}
	// Single use.
	if _, _, err := s.Enroll(ctx, code, "10.0.0.1", "till-2", "0.1.0"); !errors.Is(err, store.ErrCodeInvalid) {
		t.Fatalf("reuse: %v", err)
	}
	// Expired after 24 h.
	code2, _, _ := s.NewPairingCode(ctx, "m1")
	c.add(24*time.Hour + time.Second)
	if _, _, err := s.Enroll(ctx, code2, "10.0.0.2", "till-3", "0.1.0"); !errors.Is(err, store.ErrCodeInvalid) {
		t.Fatalf("expired: %v", err)
	}
	// The token itself is not in the database.
	if err := s.RevokeDevice(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeviceByToken(ctx, tok); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked token: %v", err)
	}
	if err := store.AssertNoPlaintext(ctx, s, tok, code); err != nil {
		t.Fatal(err)
	}
}

func testPairingLimit(t *testing.T, s *store.Store, c *clock) {
	ctx := context.Background()
	mustMerchant(t, s, "m1")
	code, _, _ := s.NewPairingCode(ctx, "m1")
	for i := 0; i < 5; i++ {
		if _, _, err := s.Enroll(ctx, "0000000000", "10.9.9.9", "x", "1"); !errors.Is(err, store.ErrCodeInvalid) {
			t.Fatalf("try %d: %v", i, err)
		}
	}
	// The sixth try from that source is refused even with the right code.
	if _, _, err := s.Enroll(ctx, code, "10.9.9.9", "x", "1"); !errors.Is(err, store.ErrTooManyTries) {
		t.Fatalf("sixth try: %v", err)
	}
	// Another source is not affected ...
	code2, _, _ := s.NewPairingCode(ctx, "m1")
	if _, _, err := s.Enroll(ctx, code2, "10.1.1.1", "x", "1"); err != nil {
		t.Fatalf("other source: %v", err)
	}
	// ... and an hour later the first source may try again.
	c.add(time.Hour + time.Second)
	if _, _, err := s.Enroll(ctx, code, "10.9.9.9", "x", "1"); err != nil {
		t.Fatalf("after an hour: %v", err)
	}
}

func newOrder(m store.Merchant, d store.Device, job string, idx int, orderNo string, amount int64, now time.Time) store.Order {
	day, _ := m.BusinessDay(now)
	return store.Order{OutTradeNo: store.NewOutTradeNo(), MerchantID: m.ID, DeviceID: d.ID, JobID: job, ReceiptIndex: idx,
		Printer: "front", OrderNo: orderNo, AmountFen: amount, BusinessDay: day, Description: m.Name + " " + orderNo,
		CodeURL: "weixin://wxpay/bizpayurl?pr=x", CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
}

func testOrders(t *testing.T, s *store.Store, c *clock) {
	ctx := context.Background()
	m := mustMerchant(t, s, "m1")
	d, _ := mustDevice(t, s, "m1")
	o, err := s.CreateOrder(ctx, newOrder(m, d, "JOB1", 0, "A1", 15300, c.now()))
	if err != nil {
		t.Fatal(err)
	}
	if o.State != store.StateOpen {
		t.Fatalf("new order state %q", o.State)
	}
	// Same idempotency key, new number: refused.
	dup := newOrder(m, d, "JOB1", 0, "A1", 15300, c.now())
	if _, err = s.CreateOrder(ctx, dup); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("duplicate key: %v", err)
	}
	// Same out_trade_no, other key: refused (numbers are never reused).
	dup = newOrder(m, d, "JOB2", 0, "A1", 15300, c.now())
	dup.OutTradeNo = o.OutTradeNo
	if _, err := s.CreateOrder(ctx, dup); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("duplicate number: %v", err)
	}
	got, err := s.OrderByKey(ctx, d.ID, "JOB1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got != o {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, o)
	}
	if !got.Open(c.now()) || got.Open(c.now().Add(15*time.Minute)) {
		t.Fatal("Open() wrong around expiry")
	}
	if _, err := s.OrderByKey(ctx, d.ID, "JOB1", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	// A second order for the same bill; BillOrders lists newest first.
	c.add(time.Minute)
	o2 := newOrder(m, d, "JOB2", 0, "A1", 16000, c.now())
	if _, err := s.CreateOrder(ctx, o2); err != nil {
		t.Fatal(err)
	}
	bill, err := s.BillOrders(ctx, d.ID, "A1", o.BusinessDay)
	if err != nil || len(bill) != 2 || bill[0].OutTradeNo != o2.OutTradeNo {
		t.Fatalf("bill orders: %v %v", bill, err)
	}
	// RequestOrders: both answers in one query.
	key, bill2, err := s.RequestOrders(ctx, d.ID, "JOB1", 0, "A1", o.BusinessDay)
	if err != nil || key == nil || *key != o || len(bill2) != 2 || bill2[0].OutTradeNo != o2.OutTradeNo {
		t.Fatalf("request orders: %v %v %v", key, bill2, err)
	}
	if key, bill2, _ := s.RequestOrders(ctx, d.ID, "JOBX", 0, "", o.BusinessDay); key != nil || len(bill2) != 0 {
		t.Fatalf("no key, no bill: %v %v", key, bill2)
	}
	if key, bill2, _ := s.RequestOrders(ctx, d.ID, "JOB2", 0, "A1", "2026-11-27"); key == nil || key.OutTradeNo != o2.OutTradeNo || len(bill2) != 0 {
		t.Fatalf("other day: %v %v", key, bill2)
	}
	d2, _ := mustDevice(t, s, "m1")
	if key, bill2, _ := s.RequestOrders(ctx, d2.ID, "JOB1", 0, "A1", o.BusinessDay); key != nil || len(bill2) != 0 {
		t.Fatalf("another device sees %v %v", key, bill2)
	}

	// Close: only an open order changes.
	closed, err := s.CloseOrder(ctx, o.OutTradeNo, store.StateClosed, "amount changed")
	if err != nil || closed.State != store.StateClosed || closed.CloseReason != "amount changed" || !closed.ClosedAt.Equal(c.now()) {
		t.Fatalf("close: %+v %v", closed, err)
	}
	if _, err := s.CloseOrder(ctx, "nope", store.StateClosed, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("close missing: %v", err)
	}
	due, err := s.DueOrders(ctx, c.now().Add(time.Second), 10)
	if err != nil || len(due) != 1 || due[0].OutTradeNo != o2.OutTradeNo {
		t.Fatalf("due: %v %v", due, err)
	}
	if _, _, err := s.MarkPaid(ctx, o2.OutTradeNo, "T2", c.now()); err != nil {
		t.Fatal(err)
	}
	again, err := s.CloseOrder(ctx, o2.OutTradeNo, store.StateExpired, "")
	if err != nil || again.State != store.StatePaid {
		t.Fatalf("closing a paid order: %+v %v", again, err)
	}
}

func testPaidDeliveries(t *testing.T, s *store.Store, c *clock) {
	ctx := context.Background()
	m := mustMerchant(t, s, "m1")
	d, _ := mustDevice(t, s, "m1")
	d2, _ := mustDevice(t, s, "m1")
	o := newOrder(m, d, "J", 0, "A1", 100, c.now())
	s.CreateOrder(ctx, o)
	paidAt := c.now().Add(time.Minute)
	got, changed, err := s.MarkPaid(ctx, o.OutTradeNo, "4200001", paidAt)
	if err != nil || !changed || got.State != store.StatePaid || got.TransactionID != "4200001" || !got.PaidAt.Equal(paidAt) {
		t.Fatalf("mark paid: %+v %v %v", got, changed, err)
	}
	// A repeated notification changes nothing and queues nothing.
	if _, changed, err := s.MarkPaid(ctx, o.OutTradeNo, "4200001", paidAt); err != nil || changed {
		t.Fatalf("repeat: %v %v", changed, err)
	}
	if _, _, err := s.MarkPaid(ctx, "nope", "x", paidAt); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
	p, err := s.PendingDeliveries(ctx, d.ID)
	if err != nil || len(p) != 1 {
		t.Fatalf("pending: %v %v", p, err)
	}
	want := store.Delivery{ID: p[0].ID, DeviceID: d.ID, OutTradeNo: o.OutTradeNo, AmountFen: 100, TransactionID: "4200001", PaidAt: paidAt, CreatedAt: c.now()}
	if p[0] != want {
		t.Fatalf("delivery\n got %+v\nwant %+v", p[0], want)
	}
	// Another device can neither see nor ack it.
	if p2, _ := s.PendingDeliveries(ctx, d2.ID); len(p2) != 0 {
		t.Fatalf("other device sees %v", p2)
	}
	if err := s.AckDelivery(ctx, d2.ID, p[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("foreign ack: %v", err)
	}
	if err := s.AckDelivery(ctx, d.ID, p[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AckDelivery(ctx, d.ID, p[0].ID); err != nil {
		t.Fatalf("second ack: %v", err)
	}
	if p, _ := s.PendingDeliveries(ctx, d.ID); len(p) != 0 {
		t.Fatalf("still pending after ack: %v", p)
	}
}

func testReceipts(t *testing.T, s *store.Store, c *clock) {
	ctx := context.Background()
	mustMerchant(t, s, "m1")
	d, _ := mustDevice(t, s, "m1")
	r := store.Receipt{DeviceID: d.ID, MerchantID: "m1", JobID: "J1", ReceiptIndex: 0, Printer: "front", PrintedAt: c.now(),
		AmountFen: 1500, OrderNo: "A1", Body: []byte(`{"amount_fen":1500}`)}
	for i, wantInserted := range []bool{true, false, false} {
		ins, err := s.SaveReceipt(ctx, r)
		if err != nil || ins != wantInserted {
			t.Fatalf("upload %d: inserted %v err %v", i, ins, err)
		}
	}
	r.ReceiptIndex = 1
	if ins, _ := s.SaveReceipt(ctx, r); !ins {
		t.Fatal("second receipt of the job not inserted")
	}
	all, err := s.Receipts(ctx, "m1")
	if err != nil || len(all) != 2 || string(all[0].Body) != `{"amount_fen":1500}` || !all[0].PrintedAt.Equal(c.now()) {
		t.Fatalf("receipts: %+v %v", all, err)
	}
}

func testRules(t *testing.T, s *store.Store, _ *clock) {
	ctx := context.Background()
	mustMerchant(t, s, "m1")
	if _, _, err := s.Rules(ctx, "m1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no rules: %v", err)
	}
	s.SetRules(ctx, "m1", "v1", []byte(`{"version":"v1"}`))
	s.SetRules(ctx, "m1", "v2", []byte(`{"version":"v2"}`))
	v, b, err := s.Rules(ctx, "m1")
	if err != nil || v != "v2" || string(b) != `{"version":"v2"}` {
		t.Fatalf("rules: %s %s %v", v, b, err)
	}
}

// testConcurrentCreate races many creators on one idempotency key: exactly
// one wins.
func testConcurrentCreate(t *testing.T, s *store.Store, c *clock) {
	ctx := context.Background()
	m := mustMerchant(t, s, "m1")
	d, _ := mustDevice(t, s, "m1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, dups := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateOrder(ctx, newOrder(m, d, "RACE", 0, "A", 1, c.now()))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrDuplicate):
				dups++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || dups != 7 {
		t.Fatalf("wins %d dups %d", wins, dups)
	}
}

func TestBusinessDay(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	tests := []struct {
		name  string
		at    time.Time
		start string
		want  string
	}{
		// 03:59 Beijing time still belongs to the previous business day.
		{"before cut-off", time.Date(2026, 11, 26, 19, 59, 0, 0, time.UTC), "04:00", "2026-11-26"},
		// 04:00 Beijing time opens the new day.
		{"at cut-off", time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC), "04:00", "2026-11-27"},
		// Midnight cut-off is the calendar day.
		{"midnight", time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC), "00:00", "2026-11-27"},
		// Across a month end.
		{"month end", time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC), "04:00", "2026-11-30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := store.ParseDayStart(tt.start)
			if err != nil {
				t.Fatal(err)
			}
			if got := store.BusinessDay(tt.at, sh, d); got != tt.want {
				t.Fatalf("got %s want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"4:00", "24:00", "04:60", "0400", "aa:bb"} {
		if _, err := store.ParseDayStart(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := store.Open(context.Background(), "mysql://user:secret@host/db")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err %v", err)
	}
	if got := store.RedactDSN("postgres://u:hunter2@h/db"); strings.Contains(got, "hunter2") {
		t.Fatal(got)
	}
}

func TestNewOutTradeNo(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		n := store.NewOutTradeNo()
		if len(n) < 6 || len(n) > 32 || strings.Trim(n, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("bad %q", n)
		}
		if seen[n] {
			t.Fatalf("repeated %q", n)
		}
		seen[n] = true
	}
}
