// Package hint suggests what a misspelt name was meant to be: the "did you
// mean" of rule, field map and test errors.
package hint

import "strings"

// Nearest returns the candidate closest to name by edit distance, ignoring
// case, if it is close enough to be a plausible misspelling; otherwise "".
func Nearest(name string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := levenshtein(strings.ToLower(name), strings.ToLower(c))
		if bestDist < 0 || d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	limit := 2
	if n := len([]rune(name)); n <= 3 {
		limit = 1
	} else if n >= 9 {
		limit = 3
	}
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}

// DidYouMean formats a suggestion as " (did you mean 's'?)", or "" for none.
func DidYouMean(s string) string {
	if s == "" {
		return ""
	}
	return " (did you mean '" + s + "'?)"
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
