package sandbox

import (
	"net/http"
	"strings"
	"time"
)

// Signing says how an answer or a notification is signed.
type Signing int

const (
	SignValid  Signing = iota // a correct signature
	SignForged                // a well-formed signature over other bytes
	SignProbe                 // WeChat's WECHATPAY/SIGNTEST/ probe signature
	SignNone                  // no Wechatpay-* signature headers at all
)

// Fault changes the sandbox's answers to matching API requests; it is
// consumed by the first Times requests that match and pass authentication.
type Fault struct {
	Method  string // "" = any
	Path    string // path prefix, e.g. "/v3/pay/transactions/native"; "" = any
	Times   int    // requests it applies to; 0 = 1
	Status  int    // answer this status with Code and Message; 0 = the real answer
	Code    string
	Message string
	Body    string        // with Status: this raw body instead of the JSON error (garbage, HTML)
	Sign    Signing       // how the answer is signed
	Skew    time.Duration // added to the answer's Wechatpay-Timestamp (signed over)
}

// InjectFault queues a fault. Typical ones: {Status: 500, Code:
// "SYSTEM_ERROR"}, {Status: 429, Code: "FREQUENCY_LIMITED"}, {Sign:
// SignForged}, {Skew: -10 * time.Minute}.
func (s *Sandbox) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// takeFault returns the first queued fault matching r, consuming one use.
func (s *Sandbox) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || strings.EqualFold(f.Method, r.Method)) && strings.HasPrefix(r.URL.Path, f.Path) {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			c := *f
			return &c
		}
	}
	return nil
}

// NotifyPlan changes how the next notification (payment or refund) is
// delivered.
type NotifyPlan struct {
	Probe      bool          // the first delivery carries a WECHATPAY/SIGNTEST/ signature
	Forged     int           // this many deliveries with a forged signature come first
	Skew       time.Duration // every delivery's timestamp is shifted (a stale replay: -10m)
	Drop       bool          // never delivered (the poller must find the payment)
	Duplicates int           // re-deliveries after the ack
	WrongKey   bool          // resource encrypted with another APIv3 key
}

// PlanNotify queues a plan for the next notification.
func (s *Sandbox) PlanNotify(p NotifyPlan) {
	s.mu.Lock()
	s.plans = append(s.plans, p)
	s.mu.Unlock()
}

func (s *Sandbox) takePlan() NotifyPlan {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.plans) == 0 {
		return NotifyPlan{}
	}
	p := s.plans[0]
	s.plans = s.plans[1:]
	return p
}

// Delivery records one notification delivery attempt.
type Delivery struct {
	ID         string // notification id (the same for every attempt of one event)
	EventType  string
	OutTradeNo string
	URL        string
	Attempt    int     // 1-based
	Sign       Signing // how this attempt was signed
	Skewed     bool
	Duplicate  bool // sent after an ack
	Status     int  // the merchant's answer; 0 when the request failed
	Err        string
	Acked      bool // 200 or 204
	Header     http.Header
	Body       []byte
	At         time.Time
}

// Deliveries returns every delivery attempt so far, oldest first.
func (s *Sandbox) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}
