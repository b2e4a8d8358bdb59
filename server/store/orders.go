package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
)

// Order states.
const (
	StateOpen    = "open"
	StatePaid    = "paid"
	StateClosed  = "closed"
	StateExpired = "expired"
)

// OutTradeNoLen is the length of a minted out_trade_no (WeChat allows 6–32).
const OutTradeNoLen = 24

// NewOutTradeNo mints an out_trade_no: OutTradeNoLen random characters of
// [0-9A-Za-z] (about 143 bits), so a number is never minted twice; the
// orders table's primary key holds that even so.
func NewOutTradeNo() string { return randomString(OutTradeNoLen, alnum) }

// Order is one WeChat Pay Native order and the receipt it was minted for.
type Order struct {
	OutTradeNo    string
	MerchantID    string
	DeviceID      string
	JobID         string
	ReceiptIndex  int
	Printer       string
	OrderNo       string // the POS's bill number; "" when the receipt had none
	AmountFen     int64
	BusinessDay   string // YYYY-MM-DD in the merchant's time zone and cut-off
	Description   string
	CodeURL       string
	State         string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	PaidAt        time.Time
	TransactionID string
	ClosedAt      time.Time
	CloseReason   string
}

// Open reports whether the order can still be paid at now.
func (o Order) Open(now time.Time) bool { return o.State == StateOpen && now.Before(o.ExpiresAt) }

const orderCols = `out_trade_no, merchant_id, device_id, job_id, receipt_index, printer, order_no, amount_fen, business_day,
	description, code_url, state, created_at, expires_at, paid_at, transaction_id, closed_at, close_reason`

func scanOrder(row interface{ Scan(...any) error }) (Order, error) {
	var o Order
	var created, expires, paid, closed int64
	err := row.Scan(&o.OutTradeNo, &o.MerchantID, &o.DeviceID, &o.JobID, &o.ReceiptIndex, &o.Printer, &o.OrderNo, &o.AmountFen,
		&o.BusinessDay, &o.Description, &o.CodeURL, &o.State, &created, &expires, &paid, &o.TransactionID, &closed, &o.CloseReason)
	o.CreatedAt, o.ExpiresAt, o.PaidAt, o.ClosedAt = fromMicros(created), fromMicros(expires), fromMicros(paid), fromMicros(closed)
	return o, err
}

// CreateOrder records a new open order. A second order with the same
// idempotency key (DeviceID, JobID, ReceiptIndex) or OutTradeNo gives
// ErrDuplicate and changes nothing.
func (s *Store) CreateOrder(ctx context.Context, o Order) (Order, error) {
	if o.State == "" {
		o.State = StateOpen
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = s.now()
	}
	o.CreatedAt = o.CreatedAt.UTC().Truncate(time.Microsecond)
	o.ExpiresAt = o.ExpiresAt.UTC().Truncate(time.Microsecond)
	res, err := s.exec(ctx, s.q(`
INSERT INTO orders (out_trade_no, merchant_id, device_id, job_id, receipt_index, printer, order_no, amount_fen, business_day,
	description, code_url, state, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`),
		o.OutTradeNo, o.MerchantID, o.DeviceID, o.JobID, o.ReceiptIndex, o.Printer, o.OrderNo, o.AmountFen, o.BusinessDay,
		o.Description, o.CodeURL, o.State, micros(o.CreatedAt), micros(o.ExpiresAt))
	if err != nil {
		return o, fmt.Errorf("store: create order %s: %w", o.OutTradeNo, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return o, fmt.Errorf("store: create order %s: %w", o.OutTradeNo, ErrDuplicate)
	}
	return o, nil
}

// Order returns the order with this out_trade_no.
func (s *Store) Order(ctx context.Context, outTradeNo string) (Order, error) {
	o, err := scanOrder(s.queryRow(ctx, s.q(`SELECT `+orderCols+` FROM orders WHERE out_trade_no = ?`), outTradeNo))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("store: order %s: %w", outTradeNo, ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("store: order %s: %w", outTradeNo, err)
	}
	return o, nil
}

// OrderByKey returns the order minted for the idempotency key.
func (s *Store) OrderByKey(ctx context.Context, deviceID, jobID string, receiptIndex int) (Order, error) {
	o, err := scanOrder(s.queryRow(ctx, s.q(`SELECT `+orderCols+` FROM orders WHERE device_id = ? AND job_id = ? AND receipt_index = ?`),
		deviceID, jobID, receiptIndex))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("store: order for %s/%s/%d: %w", deviceID, jobID, receiptIndex, ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("store: order for %s/%s/%d: %w", deviceID, jobID, receiptIndex, err)
	}
	return o, nil
}

// BillOrders returns the orders minted on the device for one POS bill
// (order_no) in one business day, newest first: the candidates a reprint
// may reuse.
func (s *Store) BillOrders(ctx context.Context, deviceID, orderNo, businessDay string) ([]Order, error) {
	rows, err := s.query(ctx, s.q(`SELECT `+orderCols+` FROM orders WHERE device_id = ? AND order_no = ? AND business_day = ?
	ORDER BY created_at DESC, out_trade_no`), deviceID, orderNo, businessDay)
	if err != nil {
		return nil, fmt.Errorf("store: orders of bill %s: %w", orderNo, err)
	}
	return collectOrders(rows)
}

// DueOrders returns up to limit orders still open that were created before
// the given instant, oldest first: the ones whose notification is late or
// that have expired.
func (s *Store) DueOrders(ctx context.Context, createdBefore time.Time, limit int) ([]Order, error) {
	rows, err := s.query(ctx, s.q(`SELECT `+orderCols+` FROM orders WHERE state = ? AND created_at < ? ORDER BY created_at LIMIT ?`),
		StateOpen, micros(createdBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due orders: %w", err)
	}
	return collectOrders(rows)
}

func collectOrders(rows *sql.Rows) ([]Order, error) {
	defer rows.Close()
	var out []Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("store: orders: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: orders: %w", err)
	}
	return out, nil
}

// MarkPaid records the payment of an order and queues its order.paid
// delivery to the device, in one transaction. changed is false when the
// order was already paid (a repeated notification): nothing is queued
// again. An order closed or expired here but paid at WeChat is recorded
// as paid too: the money arrived.
func (s *Store) MarkPaid(ctx context.Context, outTradeNo, transactionID string, paidAt time.Time) (o Order, changed bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE orders SET state = ?, paid_at = ?, transaction_id = ? WHERE out_trade_no = ? AND state <> ?`),
			StatePaid, micros(paidAt), transactionID, outTradeNo, StatePaid)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		o, err = scanOrder(tx.QueryRowContext(ctx, s.q(`SELECT `+orderCols+` FROM orders WHERE out_trade_no = ?`), outTradeNo))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil || n == 0 {
			return err
		}
		changed = true
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO deliveries (id, device_id, out_trade_no, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
			ulid.Make().String(), o.DeviceID, outTradeNo, micros(s.now()))
		return err
	})
	if err != nil {
		return o, false, fmt.Errorf("store: mark %s paid: %w", outTradeNo, err)
	}
	return o, changed, nil
}

// CloseOrder moves an open order to state (StateClosed or StateExpired)
// and returns it. An order no longer open is returned unchanged, so the
// caller sees a payment that won the race.
func (s *Store) CloseOrder(ctx context.Context, outTradeNo, state, reason string) (Order, error) {
	if state != StateClosed && state != StateExpired {
		return Order{}, fmt.Errorf("store: close order %s: bad state %q", outTradeNo, state)
	}
	var o Order
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`UPDATE orders SET state = ?, closed_at = ?, close_reason = ? WHERE out_trade_no = ? AND state = ?`),
			state, micros(s.now()), reason, outTradeNo, StateOpen)
		if err != nil {
			return err
		}
		o, err = scanOrder(tx.QueryRowContext(ctx, s.q(`SELECT `+orderCols+` FROM orders WHERE out_trade_no = ?`), outTradeNo))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return o, fmt.Errorf("store: close order %s: %w", outTradeNo, err)
	}
	return o, nil
}

// Delivery is an order.paid frame owed to a device until it acks.
type Delivery struct {
	ID            string // the frame id; the agent's ack carries it in re
	DeviceID      string
	OutTradeNo    string
	AmountFen     int64
	TransactionID string
	PaidAt        time.Time
	CreatedAt     time.Time
}

// PendingDeliveries returns the device's unacknowledged order.paid
// deliveries, oldest first.
func (s *Store) PendingDeliveries(ctx context.Context, deviceID string) ([]Delivery, error) {
	rows, err := s.query(ctx, s.q(`
SELECT d.id, d.device_id, d.out_trade_no, o.amount_fen, o.transaction_id, o.paid_at, d.created_at
FROM deliveries d JOIN orders o ON o.out_trade_no = d.out_trade_no
WHERE d.device_id = ? AND d.acked_at = 0 ORDER BY d.created_at, d.id`), deviceID)
	if err != nil {
		return nil, fmt.Errorf("store: pending deliveries of %s: %w", deviceID, err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var paid, created int64
		if err := rows.Scan(&d.ID, &d.DeviceID, &d.OutTradeNo, &d.AmountFen, &d.TransactionID, &paid, &created); err != nil {
			return nil, fmt.Errorf("store: pending deliveries of %s: %w", deviceID, err)
		}
		d.PaidAt, d.CreatedAt = fromMicros(paid), fromMicros(created)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pending deliveries of %s: %w", deviceID, err)
	}
	return out, nil
}

// AckDelivery marks the device's delivery as received. An id that is not
// one of the device's deliveries gives ErrNotFound; acking twice is fine.
func (s *Store) AckDelivery(ctx context.Context, deviceID, id string) error {
	var acked int64
	err := s.queryRow(ctx, s.q(`SELECT acked_at FROM deliveries WHERE id = ? AND device_id = ?`), id, deviceID).Scan(&acked)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: ack %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: ack %s: %w", id, err)
	}
	if acked != 0 {
		return nil
	}
	if _, err := s.exec(ctx, s.q(`UPDATE deliveries SET acked_at = ? WHERE id = ? AND device_id = ?`), micros(s.now()), id, deviceID); err != nil {
		return fmt.Errorf("store: ack %s: %w", id, err)
	}
	return nil
}

// Receipt is one printed receipt kept for the ledger.
type Receipt struct {
	DeviceID     string
	MerchantID   string
	JobID        string
	ReceiptIndex int
	Printer      string
	PrintedAt    time.Time
	ReceivedAt   time.Time
	AmountFen    int64
	OrderNo      string
	Body         []byte // the canonical receipt as JSON
}

// SaveReceipt records a receipt once: a second upload of the same
// (device, job_id, receipt_index) reports inserted == false and changes
// nothing.
func (s *Store) SaveReceipt(ctx context.Context, r Receipt) (inserted bool, err error) {
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = s.now()
	}
	res, err := s.exec(ctx, s.q(`
INSERT INTO receipts (device_id, job_id, receipt_index, merchant_id, printer, printed_at, received_at, amount_fen, order_no, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		r.DeviceID, r.JobID, r.ReceiptIndex, r.MerchantID, r.Printer, micros(r.PrintedAt), micros(r.ReceivedAt), r.AmountFen, r.OrderNo, string(r.Body))
	if err != nil {
		return false, fmt.Errorf("store: save receipt %s/%d: %w", r.JobID, r.ReceiptIndex, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Receipts lists a merchant's receipts, oldest first.
func (s *Store) Receipts(ctx context.Context, merchantID string) ([]Receipt, error) {
	rows, err := s.query(ctx, s.q(`SELECT device_id, merchant_id, job_id, receipt_index, printer, printed_at, received_at, amount_fen, order_no, body
FROM receipts WHERE merchant_id = ? ORDER BY received_at, job_id, receipt_index`), merchantID)
	if err != nil {
		return nil, fmt.Errorf("store: receipts of %s: %w", merchantID, err)
	}
	defer rows.Close()
	var out []Receipt
	for rows.Next() {
		var r Receipt
		var printed, received int64
		var body string
		if err := rows.Scan(&r.DeviceID, &r.MerchantID, &r.JobID, &r.ReceiptIndex, &r.Printer, &printed, &received, &r.AmountFen, &r.OrderNo, &body); err != nil {
			return nil, fmt.Errorf("store: receipts of %s: %w", merchantID, err)
		}
		r.PrintedAt, r.ReceivedAt, r.Body = fromMicros(printed), fromMicros(received), []byte(body)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: receipts of %s: %w", merchantID, err)
	}
	return out, nil
}

// OpenOrders returns up to limit of the merchant's orders still open,
// oldest first (what the WeChat poller reconciles).
func (s *Store) OpenOrders(ctx context.Context, merchantID string, limit int) ([]Order, error) {
	rows, err := s.query(ctx, s.q(`SELECT `+orderCols+` FROM orders WHERE merchant_id = ? AND state = ? ORDER BY created_at LIMIT ?`),
		merchantID, StateOpen, limit)
	if err != nil {
		return nil, fmt.Errorf("store: open orders of %s: %w", merchantID, err)
	}
	return collectOrders(rows)
}

// RequestOrders answers the two questions of a qr.request in one query:
// the order already minted for the idempotency key (nil when none), and
// the device's orders for the bill orderNo in businessDay, newest first
// (none when orderNo is empty).
func (s *Store) RequestOrders(ctx context.Context, deviceID, jobID string, receiptIndex int, orderNo, businessDay string) (*Order, []Order, error) {
	rows, err := s.query(ctx, s.q(`SELECT `+orderCols+`, CASE WHEN job_id = ? AND receipt_index = ? THEN 1 ELSE 0 END
FROM orders WHERE device_id = ? AND ((job_id = ? AND receipt_index = ?) OR (order_no = ? AND order_no <> '' AND business_day = ?))
ORDER BY created_at DESC, out_trade_no`), jobID, receiptIndex, deviceID, jobID, receiptIndex, orderNo, businessDay)
	if err != nil {
		return nil, nil, fmt.Errorf("store: orders for request %s/%d: %w", jobID, receiptIndex, err)
	}
	defer rows.Close()
	var key *Order
	var bill []Order
	for rows.Next() {
		var o Order
		var created, expires, paid, closed, isKey int64
		if err := rows.Scan(&o.OutTradeNo, &o.MerchantID, &o.DeviceID, &o.JobID, &o.ReceiptIndex, &o.Printer, &o.OrderNo, &o.AmountFen,
			&o.BusinessDay, &o.Description, &o.CodeURL, &o.State, &created, &expires, &paid, &o.TransactionID, &closed, &o.CloseReason, &isKey); err != nil {
			return nil, nil, fmt.Errorf("store: orders for request %s/%d: %w", jobID, receiptIndex, err)
		}
		o.CreatedAt, o.ExpiresAt, o.PaidAt, o.ClosedAt = fromMicros(created), fromMicros(expires), fromMicros(paid), fromMicros(closed)
		if isKey == 1 {
			k := o
			key = &k
		}
		if orderNo != "" && o.OrderNo == orderNo && o.BusinessDay == businessDay {
			bill = append(bill, o)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: orders for request %s/%d: %w", jobID, receiptIndex, err)
	}
	return key, bill, nil
}
