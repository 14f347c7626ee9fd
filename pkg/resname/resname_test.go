package resname_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/pkg/resname"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		colls []string
		want  []string
		ok    bool
	}{
		{"tickets/abc", []string{"tickets"}, []string{"abc"}, true},
		{"customers/a/products/b", []string{"customers", "products"}, []string{"a", "b"}, true},
		{"customers/-/products/b", []string{"customers", "products"}, []string{"-", "b"}, true},
		{"tickets/", []string{"tickets"}, nil, false},
		{"tickets", []string{"tickets"}, nil, false},
		{"staff/abc", []string{"tickets"}, nil, false},
		{"tickets/abc/events/x", []string{"tickets"}, nil, false},
		{"", []string{"tickets"}, nil, false},
	} {
		got, ok := resname.Parse(tc.name, tc.colls...)
		require.Equal(t, tc.ok, ok, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}
	require.Equal(t, "customers/a/products/b", resname.Format("customers", "a", "products", "b"))
}
