package controlplane

import (
	"encoding/base64"
	"sort"
)

// page returns the page of the sorted keys that follows token (a key
// returned as the last one of the previous page) and the token of the next
// page.
func page(keys []string, maxResults *int32, token string, limit int32) ([]string, string, error) {
	n := limit
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > limit {
			return nil, "", invalidParam("maxResults must be between 1 and %d.", limit)
		}
		n = *maxResults
	}
	start := 0
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(after) == 0 {
			return nil, "", invalidParam("Invalid nextToken.")
		}
		start = sort.SearchStrings(keys, string(after))
		if start < len(keys) && keys[start] == string(after) {
			start++
		}
	}
	end := start + int(n)
	if end >= len(keys) {
		return nonNil(keys[start:]), "", nil
	}
	return keys[start:end], base64.RawURLEncoding.EncodeToString([]byte(keys[end-1])), nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
