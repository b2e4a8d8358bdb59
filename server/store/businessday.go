package store

import (
	"fmt"
	"sync"
	"time"
)

// locations caches time.LoadLocation, which reads the zone database on
// every call.
var locations sync.Map // name -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

// ParseDayStart reads a business-day cut-off "HH:MM" (00:00–23:59) as the
// offset from midnight.
func ParseDayStart(s string) (time.Duration, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("store: business day start %q: want HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 23 || m > 59 || h < 0 || m < 0 {
		return 0, fmt.Errorf("store: business day start %q: want HH:MM", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// BusinessDay names the business day (YYYY-MM-DD) an instant belongs to in
// a shop whose day starts at start past local midnight in loc: with
// start 04:00, 03:59 local time still belongs to the day before.
func BusinessDay(t time.Time, loc *time.Location, start time.Duration) string {
	local := t.In(loc)
	y, mo, d := local.Date()
	midnight := time.Date(y, mo, d, 0, 0, 0, 0, loc)
	if local.Sub(midnight) < start {
		local = local.AddDate(0, 0, -1)
	}
	return local.Format("2006-01-02")
}

// BusinessDay names the merchant's business day of t.
func (m Merchant) BusinessDay(t time.Time) (string, error) {
	m.applyDefaults()
	loc, err := loadLocation(m.Timezone)
	if err != nil {
		return "", fmt.Errorf("store: merchant %s: timezone: %w", m.ID, err)
	}
	start, err := ParseDayStart(m.BusinessDayStarts)
	if err != nil {
		return "", err
	}
	return BusinessDay(t, loc, start), nil
}
