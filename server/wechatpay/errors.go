package wechatpay

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
)

// Sentinels callers branch on. Every error the client returns for a WeChat
// answer wraps exactly one of them (use errors.Is); *APIError carries the
// details.
var (
	ErrOrderPaid      = errors.New("wechatpay: order already paid")                      // 403 ORDERPAID
	ErrOrderClosed    = errors.New("wechatpay: order closed")                            // 400 ORDER_CLOSED
	ErrOrderNotExist  = errors.New("wechatpay: order or refund does not exist")          // 404 ORDER_NOT_EXIST
	ErrOutTradeNoUsed = errors.New("wechatpay: out_trade_no used with other parameters") // 403 OUT_TRADE_NO_USED
	ErrRateLimited    = errors.New("wechatpay: rate limited")                            // 429
	ErrUnavailable    = errors.New("wechatpay: service unavailable or outcome unknown")  // 5xx, transport
	ErrUnauthorized   = errors.New("wechatpay: request signature refused")               // 401 SIGN_ERROR
	ErrInvalidRequest = errors.New("wechatpay: invalid request")                         // 400 PARAM_ERROR, ...
	ErrRejected       = errors.New("wechatpay: request rejected")                        // other 4xx (business rules)
	ErrBadResponse    = errors.New("wechatpay: answer failed verification")              // forged, skewed or unsigned 2xx
	ErrMismatch       = errors.New("wechatpay: transaction does not match the order")    // amount or merchant differs
)

// APIError is a non-2xx answer from WeChat.
type APIError struct {
	Op        string // what the client was doing, e.g. "create order"
	Status    int
	Code      string
	Message   string
	RequestID string
	kind      error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechatpay: %s: http %d %s: %s (request-id %s)", e.Op, e.Status, e.Code, e.Message, e.RequestID)
}

// Unwrap returns the sentinel the answer was classified as.
func (e *APIError) Unwrap() error { return e.kind }

// Retryable reports whether err is worth retrying with identical parameters
// (WeChat's own advice: 429, 5xx and transport failures).
func Retryable(err error) bool {
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrUnavailable)
}

// Codes are spelled differently across WeChat's documents; match sets.
var (
	codesPaid      = set("ORDERPAID", "ORDER_PAID", "TRADE_PAID")
	codesClosed    = set("ORDER_CLOSED", "ORDERCLOSED")
	codesNotExist  = set("ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS", "RESOURCE_NOT_EXIST")
	codesUsed      = set("OUT_TRADE_NO_USED", "OUTTRADENOUSED")
	codesRate      = set("FREQUENCY_LIMITED", "RATELIMIT_EXCEEDED", "FREQUENCY_LIMIT_EXCEED")
	codesSystem    = set("SYSTEM_ERROR", "SYSTEMERROR", "SERVICE_UNAVAILABLE", "BANKERROR", "BANK_ERROR")
	codesBadParams = set("PARAM_ERROR", "INVALID_REQUEST", "APPID_MCHID_NOT_MATCH", "MCH_NOT_EXISTS", "MCHID_NOT_EXIST")
)

func set(codes ...string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// classify turns an SDK call's outcome into our error: HTTP status first,
// then the code.
func classify(op string, result *core.APIResult, err error) error {
	if err == nil {
		return nil
	}
	var ae *core.APIError
	if errors.As(err, &ae) {
		e := &APIError{Op: op, Status: ae.StatusCode, Code: ae.Code, Message: ae.Message, RequestID: ae.Header.Get("Request-Id")}
		e.kind = kindOf(ae.StatusCode, ae.Code)
		return e
	}
	if result != nil && result.Response != nil {
		// A 2xx answer that failed the SDK's signature or timestamp check.
		return fmt.Errorf("wechatpay: %s: %w: %v (request-id %s)", op, ErrBadResponse, err, result.Response.Header.Get("Request-Id"))
	}
	return fmt.Errorf("wechatpay: %s: %w: %w", op, ErrUnavailable, err)
}

func kindOf(status int, code string) error {
	switch {
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status >= 500:
		return ErrUnavailable
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusNotFound:
		return ErrOrderNotExist
	}
	switch {
	case codesPaid[code]:
		return ErrOrderPaid
	case codesClosed[code]:
		return ErrOrderClosed
	case codesUsed[code]:
		return ErrOutTradeNoUsed
	case codesNotExist[code]:
		return ErrOrderNotExist
	case codesRate[code]:
		return ErrRateLimited
	case codesSystem[code]:
		return ErrUnavailable
	case codesBadParams[code], status == http.StatusBadRequest:
		return ErrInvalidRequest
	}
	return ErrRejected
}
