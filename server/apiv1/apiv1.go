package apiv1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Subprotocol is the websocket subprotocol both sides must agree on.
const Subprotocol = "printpay.v1"

// ProtocolVersion is the value of hello.protocol this package speaks.
const ProtocolVersion = 1

// MaxFrameBytes bounds one frame in either direction. A receipt upload with
// full lines is the largest frame; 256 KiB is far above any real receipt.
const MaxFrameBytes = 256 << 10

// Frame types.
const (
	TypeHello         = "hello"
	TypeWelcome       = "welcome"
	TypeRules         = "rules"
	TypeQRRequest     = "qr.request"
	TypeQRResponse    = "qr.response"
	TypeQRCancel      = "qr.cancel"
	TypeOrderPaid     = "order.paid"
	TypeReceiptUpload = "receipt.upload"
	TypeAck           = "ack"
	TypeError         = "error"
)

// Error codes carried in Error.Code.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeAmountCap    = "amount_cap"
	CodeRateLimited  = "rate_limited"
	CodeWechatError  = "wechat_error"
	CodeUnavailable  = "unavailable"
)

// Order states in QRResponse.State.
const (
	StateOpen = "open"
	StatePaid = "paid"
)

// CurrencyCNY is the only currency the server accepts.
const CurrencyCNY = "CNY"

// Sentinel decoding errors; Decode wraps them in a *DecodeError.
var (
	ErrMalformed   = errors.New("apiv1: malformed frame")
	ErrTooLarge    = errors.New("apiv1: frame too large")
	ErrUnknownType = errors.New("apiv1: unknown frame type")
)

// Message is one frame. Type reports the frame's "type".
type Message interface {
	Type() string
}

// Printer describes one printer of the agent in Hello.
type Printer struct {
	Name    string `json:"name"`
	Driver  string `json:"driver"`
	Profile string `json:"profile"`
	Status  string `json:"status"`
}

// Hello is the agent's first frame after the websocket opens.
type Hello struct {
	ID           string    `json:"id"`
	AgentVersion string    `json:"agent_version"`
	Protocol     int       `json:"protocol"`
	Printers     []Printer `json:"printers"`
	RulesVersion string    `json:"rules_version"`
}

// Welcome answers Hello. Rules is the merchant's rule set (JSON of
// agent/rules) when it differs from the agent's rules_version.
type Welcome struct {
	Re              string          `json:"re"`
	ServerTime      time.Time       `json:"server_time"`
	DeviceID        string          `json:"device_id"`
	MerchantName    string          `json:"merchant_name"`
	Rules           json.RawMessage `json:"rules,omitempty"`
	MinAgentVersion string          `json:"min_agent_version"`
}

// Rules pushes a new rule set to the agent; the agent answers Ack.
type Rules struct {
	ID      string          `json:"id"`
	Version string          `json:"version"`
	Rules   json.RawMessage `json:"rules"`
}

// Item is one line item of a canonical receipt.
type Item struct {
	Name      string `json:"name"`
	Qty       string `json:"qty"` // decimal as printed: "2", "0.35"
	AmountFen int64  `json:"amount_fen"`
}

// Receipt is the canonical receipt. Lines is empty unless the merchant
// uploads full lines.
type Receipt struct {
	Encoding  string   `json:"encoding"`
	Lines     []string `json:"lines"`
	AmountFen int64    `json:"amount_fen"`
	OrderNo   string   `json:"order_no"`
	Items     []Item   `json:"items"`
	Reason    string   `json:"reason"`
}

// QRRequest asks for the payment QR of one payable receipt. The server's
// idempotency key is (device, JobID, ReceiptIndex).
type QRRequest struct {
	ID           string   `json:"id"`
	JobID        string   `json:"job_id"`
	ReceiptIndex int      `json:"receipt_index"`
	Printer      string   `json:"printer"`
	AmountFen    int64    `json:"amount_fen"`
	Currency     string   `json:"currency"`
	OrderNo      string   `json:"order_no"`
	Receipt      *Receipt `json:"receipt,omitempty"`
}

// QRResponse answers QRRequest. With State "paid" (a reprint of a paid
// bill) CodeURL is empty.
type QRResponse struct {
	Re         string    `json:"re"`
	OutTradeNo string    `json:"out_trade_no"`
	CodeURL    string    `json:"code_url,omitempty"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	State      string    `json:"state"`
	AmountFen  int64     `json:"amount_fen,omitempty"`
}

// QRCancel asks the server to close an order the bill was paid another way.
type QRCancel struct {
	ID         string `json:"id"`
	OutTradeNo string `json:"out_trade_no"`
	Reason     string `json:"reason"`
}

// OrderPaid tells the agent an order was paid. The server resends it, also
// after a reconnect, until the agent acks it.
type OrderPaid struct {
	ID            string    `json:"id"`
	OutTradeNo    string    `json:"out_trade_no"`
	AmountFen     int64     `json:"amount_fen"`
	TransactionID string    `json:"transaction_id"`
	PaidAt        time.Time `json:"paid_at"`
}

// ReceiptUpload sends a printed receipt to the ledger. The server
// de-duplicates by (JobID, ReceiptIndex).
type ReceiptUpload struct {
	ID           string    `json:"id"`
	JobID        string    `json:"job_id"`
	ReceiptIndex int       `json:"receipt_index"`
	Printer      string    `json:"printer"`
	PrintedAt    time.Time `json:"printed_at"`
	Receipt      Receipt   `json:"receipt"`
}

// Ack acknowledges the frame whose id is Re.
type Ack struct {
	Re string `json:"re"`
}

// Error reports a failure, in answer to the frame Re when there is one.
// Retryable says whether sending the same frame later may succeed.
type Error struct {
	Re        string `json:"re,omitempty"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

func (Hello) Type() string         { return TypeHello }
func (Welcome) Type() string       { return TypeWelcome }
func (Rules) Type() string         { return TypeRules }
func (QRRequest) Type() string     { return TypeQRRequest }
func (QRResponse) Type() string    { return TypeQRResponse }
func (QRCancel) Type() string      { return TypeQRCancel }
func (OrderPaid) Type() string     { return TypeOrderPaid }
func (ReceiptUpload) Type() string { return TypeReceiptUpload }
func (Ack) Type() string           { return TypeAck }
func (Error) Type() string         { return TypeError }

// Error makes an Error frame usable as a Go error.
func (e Error) Error() string {
	return fmt.Sprintf("apiv1: %s: %s", e.Code, e.Message)
}

// EnrollRequest is the body of POST /v1/enroll.
type EnrollRequest struct {
	Code         string `json:"code"`
	AgentVersion string `json:"agent_version"`
	Hostname     string `json:"hostname"`
}

// EnrollResponse is the answer to a successful enrollment. Token is shown
// once; the server keeps only its hash.
type EnrollResponse struct {
	DeviceID  string `json:"device_id"`
	Token     string `json:"token"`
	ServerURL string `json:"server_url"`
}

// Envelope is what every frame has in common; enough to route a frame and
// to answer it.
type Envelope struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	Re   string `json:"re,omitempty"`
}

// DecodeError says why a frame could not be decoded. Envelope holds what
// could be read of it, so the receiver can still answer with re = ID.
type DecodeError struct {
	Envelope Envelope
	Err      error // ErrMalformed, ErrTooLarge or ErrUnknownType, possibly wrapping the JSON error
	Detail   string
}

func (e *DecodeError) Error() string {
	if e.Detail == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Detail
}

func (e *DecodeError) Unwrap() error { return e.Err }

func newMessage(typ string) Message {
	switch typ {
	case TypeHello:
		return &Hello{}
	case TypeWelcome:
		return &Welcome{}
	case TypeRules:
		return &Rules{}
	case TypeQRRequest:
		return &QRRequest{}
	case TypeQRResponse:
		return &QRResponse{}
	case TypeQRCancel:
		return &QRCancel{}
	case TypeOrderPaid:
		return &OrderPaid{}
	case TypeReceiptUpload:
		return &ReceiptUpload{}
	case TypeAck:
		return &Ack{}
	case TypeError:
		return &Error{}
	}
	return nil
}

// Decode parses one frame into a pointer to its message type (*Hello,
// *QRRequest, ...). Unknown fields are ignored. Errors are *DecodeError
// wrapping ErrTooLarge, ErrMalformed or ErrUnknownType.
func Decode(data []byte) (Message, error) {
	if len(data) > MaxFrameBytes {
		return nil, &DecodeError{Err: ErrTooLarge, Detail: fmt.Sprintf("%d bytes, limit %d", len(data), MaxFrameBytes)}
	}
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, &DecodeError{Err: ErrMalformed, Detail: jsonDetail(err)}
	}
	m := newMessage(env.Type)
	if m == nil {
		if env.Type == "" {
			return nil, &DecodeError{Envelope: env, Err: ErrMalformed, Detail: "no type"}
		}
		return nil, &DecodeError{Envelope: env, Err: ErrUnknownType, Detail: fmt.Sprintf("%q", env.Type)}
	}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, &DecodeError{Envelope: env, Err: ErrMalformed, Detail: jsonDetail(err)}
	}
	return m, nil
}

func jsonDetail(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q: expected %s", te.Field, te.Type)
	}
	return err.Error()
}

// Encode writes one frame: the message's fields with "type" first.
// It accepts a message or a pointer to one.
func Encode(m Message) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("apiv1: encode %s: %w", m.Type(), err)
	}
	var b bytes.Buffer
	b.Grow(len(body) + len(m.Type()) + 12)
	b.WriteString(`{"type":`)
	typ, _ := json.Marshal(m.Type())
	b.Write(typ)
	if len(body) > 2 {
		b.WriteByte(',')
		b.Write(body[1:])
	} else {
		b.WriteByte('}')
	}
	return b.Bytes(), nil
}
