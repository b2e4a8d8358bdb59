package config

import (
	"bytes"
	"strings"

	"github.com/BurntSushi/toml"
)

// lineIndex finds where keys and tables sit in a TOML file, for error
// messages. It understands what this config uses: top-level keys, [table]
// and [[array]] headers, one key per line.
type lineIndex struct {
	entries []lineEntry
}

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
			end := strings.Index(s, "]]")
			if end < 0 {
				continue
			}
			table = strings.TrimSpace(s[2:end])
			li.entries = append(li.entries, lineEntry{table: table, index: count[table], line: i + 1})
			count[table]++
		case s[0] == '[':
			end := strings.Index(s, "]")
			if end < 0 {
				continue
			}
			table = strings.TrimSpace(s[1:end])
			li.entries = append(li.entries, lineEntry{table: table, line: i + 1})
			count[table]++
		default:
			eq := strings.Index(s, "=")
			if eq < 0 {
				continue
			}
			key := strings.Trim(strings.TrimSpace(s[:eq]), `"'`)
			li.entries = append(li.entries, lineEntry{table: table, index: count[table] - 1, key: key, line: i + 1})
		}
	}
	return li
}

// find returns the line of a key path as toml.MetaData reports it
// (["listen"] or ["merchant", "colour"]); 0 when not found.
func (li lineIndex) find(k toml.Key) int {
	switch len(k) {
	case 0:
		return 0
	case 1:
		for _, e := range li.entries {
			if e.table == "" && e.key == k[0] {
				return e.line
			}
		}
		for _, e := range li.entries {
			if e.table == k[0] && e.key == "" {
				return e.line
			}
		}
	default:
		for _, e := range li.entries {
			if e.table == k[0] && e.key == k[len(k)-1] {
				return e.line
			}
		}
	}
	return 0
}

// table returns the line of the i-th [[name]] header.
func (li lineIndex) table(name string, i int) int {
	for _, e := range li.entries {
		if e.table == name && e.key == "" && e.index == i {
			return e.line
		}
	}
	return 0
}

// findIn returns the line of key inside the i-th [[name]] block.
func (li lineIndex) findIn(name string, i int, key string) int {
	for _, e := range li.entries {
		if e.table == name && e.index == i && e.key == key {
			return e.line
		}
	}
	return 0
}
