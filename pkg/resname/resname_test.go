package resname_test

import (
	"strings"
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

// FuzzParse: whatever Parse accepts formats back to the same name, with
// ids that are non-empty and free of '/', and ID agrees with Parse; any
// such ids are accepted again after Format.
func FuzzParse(f *testing.F) {
	f.Add("tickets/abc", "tickets", "")
	f.Add("customers/a/products/b", "customers", "products")
	f.Add("customers/-/products/b", "customers", "products")
	f.Add("tickets/", "tickets", "")
	f.Add("../tickets/x", "tickets", "")
	f.Add("tickets/a\x00b", "tickets", "")
	f.Add("票据/😀", "票据", "")
	f.Add("//", "", "")
	f.Fuzz(func(t *testing.T, name, c1, c2 string) {
		colls := []string{c1}
		if c2 != "" {
			colls = append(colls, c2)
		}
		ids, ok := resname.Parse(name, colls...)
		if ok {
			require.Len(t, ids, len(colls))
			pairs := make([]string, 0, 2*len(colls))
			for i, id := range ids {
				require.NotEmpty(t, id)
				require.NotContains(t, id, "/")
				pairs = append(pairs, colls[i], id)
			}
			require.Equal(t, name, resname.Format(pairs...))
		} else {
			require.Nil(t, ids)
		}
		id, idOK := resname.ID(name, c1)
		wantID, wantOK := resname.Parse(name, c1)
		require.Equal(t, wantOK, idOK)
		if idOK {
			require.Equal(t, wantID[0], id)
		}

		// Valid parts round-trip: the fuzzed name, used as an id, parses
		// back out of a formatted name whenever it is a valid id and the
		// collection is a valid collection.
		if name != "" && !strings.Contains(name, "/") && c1 != "" && !strings.Contains(c1, "/") {
			got, ok := resname.Parse(resname.Format(c1, name), c1)
			require.True(t, ok)
			require.Equal(t, []string{name}, got)
		}
	})
}
