package config

import (
	"bytes"
	"strings"

	"github.com/BurntSushi/toml"
)

// lineIndex finds where keys and tables sit in the file, for error
// messages. It knows what this format uses: [table] and [[printer]]
// headers and one key per line.
type lineIndex struct{ entries []lineEntry }

type lineEntry struct {
	table string // "" top level, else the header name
	index int    // occurrence of an [[array]] header, from 0
	key   string // "" for the header line itself
	line  int
}

func indexLines(data []byte) lineIndex {
	var li lineIndex
	table, count := "", map[string]int{}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimSpace(string(raw))
		switch {
		case s == "" || s[0] == '#':
		case strings.HasPrefix(s, "[["):
			if end := strings.Index(s, "]]"); end > 0 {
				table = strings.TrimSpace(s[2:end])
				li.entries = append(li.entries, lineEntry{table: table, index: count[table], line: i + 1})
				count[table]++
			}
		case s[0] == '[':
			if end := strings.Index(s, "]"); end > 0 {
				table = strings.TrimSpace(s[1:end])
				li.entries = append(li.entries, lineEntry{table: table, line: i + 1})
				count[table]++
			}
		default:
			if eq := strings.Index(s, "="); eq > 0 {
				key := strings.Trim(strings.TrimSpace(s[:eq]), `"'`)
				li.entries = append(li.entries, lineEntry{table: table, index: count[table] - 1, key: key, line: i + 1})
			}
		}
	}
	return li
}

// find returns the line of a key path as toml.MetaData names it; 0 when
// not found. For keys in [[printer]] blocks it finds the first occurrence.
func (li lineIndex) find(k toml.Key) int {
	if len(k) == 0 {
		return 0
	}
	table, key := strings.Join(k[:len(k)-1], "."), k[len(k)-1]
	for _, e := range li.entries {
		if e.table == table && e.key == key {
			return e.line
		}
	}
	// A whole unknown table: its header.
	for _, e := range li.entries {
		if e.table == k.String() && e.key == "" {
			return e.line
		}
	}
	if len(k) > 1 {
		return li.find(k[:len(k)-1])
	}
	return 0
}

// findIn returns the line of key in the idx-th [[table]] block, or of the
// block's header when the key is absent.
func (li lineIndex) findIn(table string, idx int, key string) int {
	header := 0
	for _, e := range li.entries {
		if e.table != table || e.index != idx {
			continue
		}
		if e.key == "" {
			header = e.line
		} else if e.key == key {
			return e.line
		}
	}
	return header
}

// table returns the header line of the idx-th [[table]] block.
func (li lineIndex) table(table string, idx int) int { return li.findIn(table, idx, "\x00") }
