package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// GroupFile is a static group mapping: each group and its members, read
// once from a YAML file such as
//
//	packager: [alice, bob]
//	rida-admins: [carol]
type GroupFile struct {
	byUser map[string][]string
}

var _ GroupSource = (*GroupFile)(nil)

// ReadGroupFile reads and parses the mapping at path.
func ReadGroupFile(path string) (*GroupFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read group file: %w", err)
	}
	gf, err := ParseGroupFile(data)
	if err != nil {
		return nil, fmt.Errorf("group file %s: %w", path, err)
	}
	return gf, nil
}

// ParseGroupFile parses a mapping of group names to lists of user names.
// Names must be non-empty and free of spaces and control characters.
func ParseGroupFile(data []byte) (*GroupFile, error) {
	var groups map[string][]string
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&groups); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("want a mapping of group names to lists of users: %w", err)
	}
	byUser := map[string][]string{}
	for group, users := range groups {
		if err := checkName(group); err != nil {
			return nil, fmt.Errorf("group %q: %w", group, err)
		}
		for _, u := range users {
			if err := checkName(u); err != nil {
				return nil, fmt.Errorf("group %q: user %q: %w", group, u, err)
			}
			if !slices.Contains(byUser[u], group) {
				byUser[u] = append(byUser[u], group)
			}
		}
	}
	for _, gs := range byUser {
		slices.Sort(gs)
	}
	return &GroupFile{byUser: byUser}, nil
}

func checkName(s string) error {
	if s == "" {
		return errors.New("empty name")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar }) {
		return errors.New("names may not contain spaces or control characters")
	}
	return nil
}

// Groups implements GroupSource.
func (f *GroupFile) Groups(_ context.Context, user string) ([]string, error) {
	return slices.Clone(f.byUser[user]), nil
}
