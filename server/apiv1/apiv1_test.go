package apiv1_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/server/apiv1"
)

var update = flag.Bool("update", false, "rewrite testdata/frames from the values in frames")

var cst = time.FixedZone("CST", 8*3600)

var sampleReceipt = apiv1.Receipt{
	Encoding:  "gb18030",
	Lines:     []string{},
	AmountFen: 15300,
	OrderNo:   "A1024",
	Items: []apiv1.Item{
		{Name: "宫保鸡丁", Qty: "1", AmountFen: 4800},
		{Name: "米饭", Qty: "2", AmountFen: 600},
		{Name: "青岛啤酒", Qty: "3", AmountFen: 9900},
	},
	Reason: "amount due: 应付",
}

// frames is one example of every frame; testdata/frames/<name>.json holds
// each exactly as Encode writes it. agent/cloud decodes the same files.
var frames = map[string]apiv1.Message{
	"hello": &apiv1.Hello{
		ID: "01JDQ3Z8M6A0000000000000H1", AgentVersion: "0.1.0", Protocol: 1,
		Printers:     []apiv1.Printer{{Name: "front", Driver: "serial", Profile: "generic-80mm", Status: "online"}},
		RulesVersion: "2026-11-01",
	},
	"welcome": &apiv1.Welcome{
		Re: "01JDQ3Z8M6A0000000000000H1", ServerTime: time.Date(2026, 11, 26, 20, 0, 0, 0, cst),
		DeviceID: "dev_7Q2M9K4C1X", MerchantName: "老王面馆",
		Rules:           json.RawMessage(`{"version":"2026-11-20","currency":"CNY"}`),
		MinAgentVersion: "0.1.0",
	},
	"rules": &apiv1.Rules{
		ID: "01JDQ3Z8M6A0000000000000R1", Version: "2026-11-21",
		Rules: json.RawMessage(`{"version":"2026-11-21","currency":"CNY"}`),
	},
	"qr.request": &apiv1.QRRequest{
		ID: "01JDQ3Z8M6A0000000000000Q1", JobID: "01JDQ3Z8M60000000000000JOB", ReceiptIndex: 0,
		Printer: "front", AmountFen: 15300, Currency: "CNY", OrderNo: "A1024", Receipt: &sampleReceipt,
	},
	"qr.response": &apiv1.QRResponse{
		Re: "01JDQ3Z8M6A0000000000000Q1", OutTradeNo: "P7fK2mQ9xZ3bW8nR4tY6", CodeURL: "weixin://wxpay/bizpayurl?pr=Ab3dEf9",
		ExpiresAt: time.Date(2026, 11, 26, 20, 15, 0, 0, cst), State: "open",
	},
	"qr.response-paid": &apiv1.QRResponse{
		Re: "01JDQ3Z8M6A0000000000000Q2", OutTradeNo: "P7fK2mQ9xZ3bW8nR4tY6", State: "paid", AmountFen: 15300,
	},
	"qr.cancel": &apiv1.QRCancel{
		ID: "01JDQ3Z8M6A0000000000000C1", OutTradeNo: "P7fK2mQ9xZ3bW8nR4tY6", Reason: "paid by cash",
	},
	"order.paid": &apiv1.OrderPaid{
		ID: "01JDQ3Z8M6A0000000000000P1", OutTradeNo: "P7fK2mQ9xZ3bW8nR4tY6", AmountFen: 15300,
		TransactionID: "4200002345202611260000000001", PaidAt: time.Date(2026, 11, 26, 20, 3, 12, 0, cst),
	},
	"receipt.upload": &apiv1.ReceiptUpload{
		ID: "01JDQ3Z8M6A0000000000000U1", JobID: "01JDQ3Z8M60000000000000JOB", ReceiptIndex: 0,
		Printer: "front", PrintedAt: time.Date(2026, 11, 26, 20, 0, 1, 0, cst), Receipt: sampleReceipt,
	},
	"ack":   &apiv1.Ack{Re: "01JDQ3Z8M6A0000000000000P1"},
	"error": &apiv1.Error{Re: "01JDQ3Z8M6A0000000000000Q1", Code: "amount_cap", Message: "amount 600000 fen is above the merchant's cap of 500000 fen", Retryable: false},
}

func TestFramesRoundTrip(t *testing.T) {
	for name, want := range frames {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "frames", name+".json")
			enc, err := apiv1.Encode(want)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(path, append(enc, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			golden = bytes.TrimSpace(golden)
			if !bytes.Equal(enc, golden) {
				t.Errorf("Encode:\n got %s\nwant %s", enc, golden)
			}
			got, err := apiv1.Decode(golden)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got.Type() != want.Type() {
				t.Fatalf("type %q, want %q", got.Type(), want.Type())
			}
			again, err := apiv1.Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, golden) {
				t.Errorf("re-encode:\n got %s\nwant %s", again, golden)
			}
			if !strings.HasPrefix(string(golden), `{"type":"`+want.Type()+`"`) {
				t.Errorf("type is not the first key: %s", golden)
			}
		})
	}
}

// TestGoldenHello pins the exact bytes of one frame so a change of field
// names cannot slip through an -update run unnoticed.
func TestGoldenHello(t *testing.T) {
	b, err := apiv1.Encode(apiv1.Hello{ID: "X", AgentVersion: "1.0", Protocol: 1, Printers: []apiv1.Printer{}, RulesVersion: "r"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"hello","id":"X","agent_version":"1.0","protocol":1,"printers":[],"rules_version":"r"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	b, _ = apiv1.Encode(apiv1.Ack{Re: "X"})
	if string(b) != `{"type":"ack","re":"X"}` {
		t.Fatalf("ack: %s", b)
	}
}

func TestDecodeTolerance(t *testing.T) {
	// Unknown fields are ignored, key order does not matter.
	m, err := apiv1.Decode([]byte(`{"future":{"x":[1,2]},"re":"R","type":"ack","extra":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := m.(*apiv1.Ack); !ok || a.Re != "R" {
		t.Fatalf("got %#v", m)
	}
	// Times with any offset decode to the same instant.
	m, err = apiv1.Decode([]byte(`{"type":"order.paid","id":"I","out_trade_no":"O","amount_fen":1,"transaction_id":"T","paid_at":"2026-11-26T12:03:12Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if p := m.(*apiv1.OrderPaid); !p.PaidAt.Equal(frames["order.paid"].(*apiv1.OrderPaid).PaidAt) {
		t.Fatalf("paid_at %v", p.PaidAt)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   error
		wantID string
		msg    string
	}{
		// Not JSON at all: no id can be recovered.
		{"garbage", `hello`, apiv1.ErrMalformed, "", "apiv1: malformed frame: invalid character 'h' looking for beginning of value"},
		// A JSON array is not an object.
		{"array", `[1]`, apiv1.ErrMalformed, "", "apiv1: malformed frame: field \"\": expected apiv1.Envelope"},
		// An object without type.
		{"no type", `{"id":"A"}`, apiv1.ErrMalformed, "A", "apiv1: malformed frame: no type"},
		// An unknown type keeps its id so the answer can carry re.
		{"unknown", `{"type":"qr.teleport","id":"B"}`, apiv1.ErrUnknownType, "B", `apiv1: unknown frame type: "qr.teleport"`},
		// Money is integer fen; a decimal amount is refused, not rounded.
		{"float amount", `{"type":"qr.request","id":"C","amount_fen":153.5}`, apiv1.ErrMalformed, "C", "apiv1: malformed frame: field \"amount_fen\": expected int64"},
		// A string where a number belongs.
		{"string index", `{"type":"qr.request","id":"D","receipt_index":"0"}`, apiv1.ErrMalformed, "D", "apiv1: malformed frame: field \"receipt_index\": expected int"},
		// Truncated frame.
		{"truncated", `{"type":"ack","re":"E"`, apiv1.ErrMalformed, "", "apiv1: malformed frame: unexpected end of JSON input"},
		// Oversized frame is refused before parsing.
		{"too large", `{"type":"ack","re":"` + strings.Repeat("x", apiv1.MaxFrameBytes) + `"}`, apiv1.ErrTooLarge, "", "apiv1: frame too large: 262166 bytes, limit 262144"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := apiv1.Decode([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			var de *apiv1.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("%T is not *DecodeError", err)
			}
			if de.Envelope.ID != tt.wantID {
				t.Errorf("envelope id %q, want %q", de.Envelope.ID, tt.wantID)
			}
			if err.Error() != tt.msg {
				t.Errorf("message %q, want %q", err.Error(), tt.msg)
			}
		})
	}
}

func TestErrorIsError(t *testing.T) {
	var err error = apiv1.Error{Code: apiv1.CodeAmountCap, Message: "too much"}
	if err.Error() != "apiv1: amount_cap: too much" {
		t.Fatal(err)
	}
}

func TestEnrollJSON(t *testing.T) {
	var req apiv1.EnrollRequest
	if err := json.Unmarshal([]byte(`{"code":"7K3M9QX2PB","agent_version":"0.1.0","hostname":"till-1"}`), &req); err != nil {
		t.Fatal(err)
	}
	if want := (apiv1.EnrollRequest{Code: "7K3M9QX2PB", AgentVersion: "0.1.0", Hostname: "till-1"}); !reflect.DeepEqual(req, want) {
		t.Fatalf("got %+v", req)
	}
	b, _ := json.Marshal(apiv1.EnrollResponse{DeviceID: "dev_1", Token: "tok", ServerURL: "wss://pay.example.com/v1/agent"})
	if string(b) != `{"device_id":"dev_1","token":"tok","server_url":"wss://pay.example.com/v1/agent"}` {
		t.Fatalf("got %s", b)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, m := range frames {
		b, _ := apiv1.Encode(m)
		f.Add(b)
	}
	f.Add([]byte(`{"type":"qr.request","amount_fen":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := apiv1.Decode(data)
		if err != nil {
			var de *apiv1.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not *DecodeError", err)
			}
			return
		}
		// Whatever decodes re-encodes, and decodes again to the same value.
		b, err := apiv1.Encode(m)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		m2, err := apiv1.Decode(b)
		if err != nil {
			t.Fatalf("decode of re-encoded %s: %v", b, err)
		}
		b2, _ := apiv1.Encode(m2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
	})
}
