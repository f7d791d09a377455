package config

import (
	"fmt"
	"strings"
)

// A DBA who writes "names" or "minimal" should be told what was meant, not handed a
// list to search. These helpers name the closest valid word when there is one.

// unknownKey explains an unknown key.
func unknownKey(k string, known []string) string {
	return unknown("key", k, known)
}

// unknown explains an unknown value of a kind ("profile", "category", ...): it
// suggests the closest known one within two edits, or lists them all.
func unknown(kind, v string, known []string) string {
	if len(known) == 0 {
		return fmt.Sprintf("unknown %s %q (none is defined)", kind, v)
	}
	if best := closest(v, known); best != "" {
		return fmt.Sprintf("unknown %s %q (did you mean %q?)", kind, v, best)
	}
	return fmt.Sprintf("unknown %s %q (want one of %s)", kind, v, strings.Join(known, ", "))
}

// closest returns the known word nearest to v, ignoring case, if it is at most two
// edits away (and closer than v is long, so "x" does not suggest "ssn").
func closest(v string, known []string) string {
	best, bestDist := "", 3
	lv := strings.ToLower(v)
	for _, k := range known {
		d := editDistance(lv, strings.ToLower(k))
		if d < bestDist && d < len(v) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
