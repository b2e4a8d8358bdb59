package status

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// The page speaks Chinese (the default) and English. Words are plain:
// the people reading them run a shop.
var words = map[string][2]string{ // key: {zh, en}
	"title":            {"printpay 打印状态", "printpay status"},
	"jobs":             {"打印任务", "Print jobs"},
	"no_jobs":          {"还没有打印任务。", "No print jobs yet."},
	"printer":          {"打印机", "Printer"},
	"printers":         {"打印机", "Printers"},
	"time":             {"时间", "Time"},
	"size":             {"大小", "Size"},
	"received":         {"接收", "Received"},
	"print":            {"打印", "Printing"},
	"reprints":         {"重印次数", "Reprints"},
	"payable":          {"需付款", "Payable"},
	"amount":           {"金额", "Amount"},
	"order_no":         {"单号", "Order no."},
	"qr":               {"二维码", "QR code"},
	"qr_reason":        {"未加二维码的原因", "Why no QR code"},
	"reason":           {"判断依据", "Why"},
	"paid":             {"已支付", "Paid"},
	"unpaid":           {"未支付", "Not paid"},
	"yes":              {"是", "yes"},
	"no":               {"否", "no"},
	"unknown":          {"未知", "unknown"},
	"not_yet":          {"尚未确定", "not known yet"},
	"details":          {"查看详情", "Details"},
	"before":           {"收到的小票", "As received"},
	"after":            {"实际打印", "As printed"},
	"receipt":          {"小票", "Receipt"},
	"no_preview":       {"无法显示预览", "No preview"},
	"reprint":          {"重新打印", "Print again"},
	"reprint_confirm":  {"确定要重新打印这张小票吗？", "Print this job again?"},
	"reprint_partial":  {"这个任务没有收全，打印出来可能不完整。确定要打印吗？", "This job arrived incomplete and may print cut off. Print it anyway?"},
	"confirm":          {"确定", "Yes, print"},
	"cancel":           {"取消", "Cancel"},
	"queued":           {"已加入打印队列", "Queued for printing"},
	"demo_pay":         {"模拟顾客付款", "Play the customer paying"},
	"demo_paid":        {"已模拟付款", "Payment sent"},
	"driver":           {"连接方式", "Driver"},
	"device":           {"设备", "Device"},
	"profile":          {"型号配置", "Profile"},
	"state":            {"状态", "Status"},
	"since":            {"自", "since"},
	"paper_near_end":   {"纸快用完了", "paper nearly out"},
	"pause":            {"暂停打印", "Pause"},
	"resume":           {"继续打印", "Resume"},
	"paused":           {"已暂停", "paused"},
	"test_print":       {"打印测试页", "Test print"},
	"done_ok":          {"完成", "Done"},
	"failed":           {"失败", "Failed"},
	"server":           {"服务器连接", "Server link"},
	"server_url":       {"服务器地址", "Server"},
	"no_server":        {"未设置（小票照常打印，不加二维码）", "none (receipts print without QR codes)"},
	"connected":        {"已连接", "connected"},
	"disconnected":     {"未连接", "not connected"},
	"connected_since":  {"连接时间", "Connected since"},
	"last_error":       {"最近的错误", "Last error"},
	"rules_version":    {"规则版本", "Rules version"},
	"queued_uploads":   {"待上传", "Waiting to upload"},
	"logs":             {"运行日志", "Log"},
	"level":            {"级别", "Level"},
	"level_debug":      {"全部", "All"},
	"level_info":       {"一般", "Info"},
	"level_warn":       {"警告", "Warnings"},
	"level_error":      {"错误", "Errors"},
	"log_live":         {"实时", "live"},
	"log_offline":      {"已断开，正在重连…", "disconnected, reconnecting…"},
	"version":          {"版本", "Version"},
	"language":         {"English", "中文"},
	"back":             {"返回", "Back"},
	"warnings":         {"提示", "Notes"},
	"items":            {"商品", "Items"},
	"intake_receiving": {"接收中", "receiving"},
	"intake_complete":  {"已收全", "complete"},
	"intake_truncated": {"不完整", "incomplete"},
	"state_pending":    {"等待中", "waiting"},
	"state_sending":    {"打印中", "printing"},
	"state_done":       {"已打印", "printed"},
	"state_failed":     {"打印失败", "failed"},
	"held":             {"等待人工处理", "held for a person"},
	"qr_spliced":       {"已加二维码", "QR added"},
	"qr_paid-line":     {"已印“已支付”", "printed as paid"},
	"qr_none":          {"未加二维码", "no QR"},
	"qr_timeout":       {"超时未加", "timed out"},
	"qr_late":          {"二维码来晚了（仅显示在顾客屏）", "too late (customer display only)"},
	"qr_error":         {"出错", "error"},
	"pr_online":        {"正常", "online"},
	"pr_offline":       {"离线", "offline"},
	"pr_paper-out":     {"缺纸", "out of paper"},
	"pr_cover-open":    {"盖子开着", "cover open"},
	"pr_error":         {"故障", "error"},
	"pr_unknown":       {"未知", "unknown"},
}

// lang is the page's language: 0 Chinese, 1 English.
type lang int

const (
	langZH lang = 0
	langEN lang = 1
)

func (l lang) code() string {
	if l == langEN {
		return "en"
	}
	return "zh"
}

// t returns the word for key, the key itself when there is none.
func (l lang) t(key string) string {
	if w, ok := words[key]; ok {
		return w[l]
	}
	return key
}

const langCookie = "printpay_lang"

// pickLang chooses the language: ?lang= (remembered in a cookie), then the
// cookie, then Accept-Language (the first of zh or en by preference),
// Chinese by default.
func pickLang(w http.ResponseWriter, r *http.Request) lang {
	parse := func(v string) (lang, bool) {
		switch strings.ToLower(v) {
		case "en":
			return langEN, true
		case "zh":
			return langZH, true
		}
		return 0, false
	}
	if l, ok := parse(r.URL.Query().Get("lang")); ok {
		if w != nil {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l.code(), Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteStrictMode, HttpOnly: true})
		}
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := parse(c.Value); ok {
			return l
		}
	}
	return acceptLanguage(r.Header.Get("Accept-Language"))
}

func acceptLanguage(h string) lang {
	type pref struct {
		tag string
		q   float64
	}
	var prefs []pref
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		prefs = append(prefs, pref{strings.ToLower(tag), q})
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	for _, p := range prefs {
		base, _, _ := strings.Cut(p.tag, "-")
		switch base {
		case "zh":
			return langZH
		case "en":
			return langEN
		}
	}
	return langZH
}
