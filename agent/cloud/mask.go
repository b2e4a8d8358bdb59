package cloud

import "printpay.dev/printpay/server/apiv1"

// shapeReceipt applies an upload mode to a receipt: "items" drops the lines
// and masks phone-like numbers, "full" keeps it as printed, "off" keeps
// nothing (ok false).
func shapeReceipt(r apiv1.Receipt, mode string) (apiv1.Receipt, bool) {
	switch mode {
	case UploadOff:
		return apiv1.Receipt{}, false
	case UploadFull:
		return r, true
	}
	out := apiv1.Receipt{
		Encoding:  r.Encoding,
		Lines:     []string{},
		AmountFen: r.AmountFen,
		OrderNo:   MaskPhones(r.OrderNo),
		Reason:    MaskPhones(r.Reason),
		Items:     make([]apiv1.Item, len(r.Items)),
	}
	for i, it := range r.Items {
		it.Name = MaskPhones(it.Name)
		out.Items[i] = it
	}
	return out, true
}

// MaskPhones masks phone-like numbers in s, keeping their first 3 and last
// 4 digits: mainland mobiles (1[3-9] and 9 more digits, also written
// 3-4-4 with spaces or dashes) and landlines (an area code 0XX or 0XXX, a
// dash or space, then 7 or 8 digits). "13812345678" becomes "138****5678",
// "0755-12345678" becomes "075*-****5678". A number inside a longer run of
// digits is not phone-like and is left alone.
func MaskPhones(s string) string {
	var b []byte // copy made on the first mask
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			i++
			continue
		}
		n := phoneAt(s, i)
		if n == 0 {
			i += digitRun(s, i)
			continue
		}
		if b == nil {
			b = []byte(s)
		}
		maskDigits(b[i : i+n])
		i += n
	}
	if b == nil {
		return s
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitRun(s string, i int) int {
	n := 0
	for i+n < len(s) && isDigit(s[i+n]) {
		n++
	}
	return n
}

// phoneAt returns the length of the phone number starting at s[i] (a digit
// with no digit before it), or 0.
func phoneAt(s string, i int) int {
	runs := func(seps string, lens ...int) (int, bool) {
		j := i
		for k, want := range lens {
			if k > 0 {
				if j >= len(s) || !containsByte(seps, s[j]) {
					return 0, false
				}
				j++
			}
			if digitRun(s, j) != want {
				return 0, false
			}
			j += want
		}
		return j - i, true
	}
	mobile := func(j int) bool { return s[j] == '1' && j+1 < len(s) && '3' <= s[j+1] && s[j+1] <= '9' }
	if n, ok := runs("", 11); ok && mobile(i) {
		return n
	}
	for _, sep := range []string{" ", "-"} {
		if n, ok := runs(sep, 3, 4, 4); ok && mobile(i) {
			return n
		}
	}
	if s[i] == '0' {
		for _, area := range []int{3, 4} {
			for _, local := range []int{7, 8} {
				if n, ok := runs(" -", area, local); ok {
					return n
				}
			}
		}
	}
	return 0
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// maskDigits stars every digit of b but the first 3 and the last 4.
func maskDigits(b []byte) {
	total := 0
	for _, c := range b {
		if isDigit(c) {
			total++
		}
	}
	k := 0
	for j, c := range b {
		if !isDigit(c) {
			continue
		}
		if k >= 3 && k < total-4 {
			b[j] = '*'
		}
		k++
	}
}
